"""Processes forked right after their parent used Conveyor: none may hang.

A fork copies only the forking thread; a lock another thread of the parent held then stays held in the child.
Conveyor's peer watcher thread, started when a process first makes or attaches a ring, took the Swift runtime's
metadata lock while it did its first-time work, and children forked then (as the Python bench forks its
producers, right after making the ring) waited on that lock forever, in `Ring.attach`. A fork now waits until
Conveyor's own threads are asleep holding nothing (fork_safety.c)."""

import os
import signal
import subprocess

from conftest import run_python

TESTS = os.path.dirname(os.path.abspath(__file__))


def test_children_forked_right_after_the_parent_used_conveyor_do_not_hang():
    # 200 fresh processes, 4 at a time, x 3 rounds: a new ring and consumer, then a fork at once; each child
    # attaches, writes 3 items and ends, and is counted hung if it has not ended within 10 s. On the code before
    # fork_safety.c, 3 of 4 runs of this (with a 5 s limit) hung: 13 of 800 trial processes had a hung child.
    # About 2 s here.
    script = run_python("import sys; sys.path.insert(0, %r); import fork_after_use; "
                        "sys.exit(fork_after_use.main(200, 3, 10.0, 4))" % TESTS)
    try:
        out, err = script.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.kill(script.pid, signal.SIGKILL)
        script.communicate()
        raise
    assert script.returncode == 0, out + err
    assert "forks 600 hung 0 failed 0" in out

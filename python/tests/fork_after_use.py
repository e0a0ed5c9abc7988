"""``python fork_after_use.py TRIALS ROUNDS TIMEOUT PARALLEL``: forks children right after their parent used
Conveyor, TRIALS x ROUNDS times, PARALLEL trials at a time, and says how many hung (test_fork.py runs it).

A child forked while another thread of its parent holds a lock (the Swift runtime's metadata lock, which a thread
takes when it meets a type for the first time) waits on that lock forever. Conveyor's peer watcher thread does its
first-time work right after it starts and when it handles its first events, so the dangerous forks are the first
few after a process first used Conveyor. Each trial is therefore a fresh process, forked from this one, which
imported Conveyor but never used it (no Conveyor thread runs here, so forking it is safe). In each of ROUNDS rounds
a trial makes a new named ring and a consumer (which starts the trial's watcher in round one, and gives it a death
to handle in the next: the child of the round before) and forks a producer at once; the producer attaches, writes
a few items and exits, and the trial takes them. A child that has not ended within TIMEOUT seconds is killed and
counted as hung. Prints ``forks F hung H failed X`` and exits 1 when H or X is not 0.
"""

import glob
import os
import signal
import sys
import time

import conveyor
import items

ITEMS = 3
HUNG = 2
FAILED = 3


def wait_for(pid, timeout):
    """The exit status of child ``pid``, or None when it has not ended within ``timeout`` seconds (it is then
    killed)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.001)


def produce(name, timeout):
    """The forked producer: attach, write ITEMS items, end without running the parent's cleanup."""
    status = FAILED
    try:
        ring = conveyor.Ring.attach(name=name, schema=items.SCHEMA)
        with ring.producer() as producer:
            for k in range(ITEMS):
                items.write(producer, k, timeout=timeout)
        ring.close()
        status = 0
    finally:
        os._exit(status)


def trial(rounds, timeout):
    """One fresh process's rounds: 0, HUNG when a child hung, FAILED for another failure."""
    outcome = 0
    try:
        for _ in range(rounds):
            with conveyor.Ring.create(items.SCHEMA, lanes=1, slots=4, name=True) as ring, \
                    ring.consumer() as consumer:
                pid = os.fork()
                if pid == 0:
                    produce(ring.name, timeout)
                try:
                    for k in range(ITEMS):
                        with consumer.next(timeout=timeout) as lease:
                            assert items.check(lease) == k
                except (conveyor.ConveyorError, AssertionError):
                    outcome = FAILED
                status = wait_for(pid, timeout)
                if status is None:
                    return HUNG
                if status != 0:
                    outcome = FAILED
    except BaseException:
        return FAILED
    return outcome


def main(trials, rounds, timeout, parallel=1):
    """Runs ``trials`` trials, ``parallel`` at a time (more than the cores: a thread is then more often
    preempted in the middle of its first-time work, holding the lock, which makes a bad fork likelier)."""
    hung = failed = 0
    running = {}
    started = 0
    while started < trials or running:
        while started < trials and len(running) < parallel:
            pid = os.fork()
            if pid == 0:
                os.setpgid(0, 0)  # so that a hung trial goes with its child
                os._exit(trial(rounds, timeout))
            try:
                os.setpgid(pid, pid)  # as the child does: whichever runs first
            except OSError:
                pass  # it has ended already
            # A round waits at most `timeout` for its items and as long again for its child.
            running[pid] = time.monotonic() + 2 * rounds * timeout + 5
            started += 1
        time.sleep(0.001)
        for pid, deadline in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and time.monotonic() < deadline:
                continue
            del running[pid]
            if not done:
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                for segment in glob.glob("/dev/shm/conveyor-ring-%d-*" % pid):
                    os.unlink(segment)
            code = os.waitstatus_to_exitcode(status) if done else HUNG
            hung += code == HUNG
            failed += code not in (0, HUNG)
    print("forks %d hung %d failed %d" % (trials * rounds, hung, failed), flush=True)
    return 1 if hung or failed else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))

"""Shared fixtures: where the Swift test helper is, and a session check that
the suite leaves no segment in /dev/shm and no process behind."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import conveyor

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHM = "/dev/shm"


def children(pid):
    """Pids of the live (not zombie) processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and not _multiprocessing_service(entry):
            found.append(int(entry))
    return found


def _multiprocessing_service(pid):
    """multiprocessing's resource tracker lives as long as its parent, by design."""
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
            return b"resource_tracker" in cmdline.read()
    except OSError:
        return False


def ring_segments():
    return {name for name in os.listdir(SHM) if name.startswith("conveyor-ring-%d-" % os.getpid())}


@pytest.fixture(scope="session", autouse=True)
def leaves_nothing_behind():
    """After the whole suite: no segment this process created is left in
    /dev/shm, and no process this one started is still running."""
    yield
    import gc
    gc.collect()
    deadline = time.monotonic() + 5
    while (ring_segments() or children(os.getpid())) and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    left_segments = ring_segments()
    left_processes = children(os.getpid())
    for pid in left_processes:
        os.kill(pid, signal.SIGKILL)
    assert not left_segments, "segments left in /dev/shm: %s" % sorted(left_segments)
    assert not left_processes, "processes left running: %s" % left_processes


@pytest.fixture(scope="session")
def helper():
    """The Swift test helper (Sources/conveyor-test-helper), built by `swift test` or `swift build`; when
    neither ran (a fresh clone where only `pip install ./python` did), built here in release, whose
    dependencies that install built already."""
    candidates = [os.environ.get("CONVEYOR_TEST_HELPER")] + [
        os.path.join(REPOSITORY, ".build", configuration, "conveyor-test-helper") for configuration in ("debug", "release")]
    for path in candidates:
        if path and os.path.exists(path):
            return path
    if shutil.which("swift") and os.path.exists(os.path.join(REPOSITORY, "Package.swift")):
        subprocess.check_call(["swift", "build", "-c", "release", "--product", "conveyor-test-helper"], cwd=REPOSITORY)
        path = os.path.join(REPOSITORY, ".build", "release", "conveyor-test-helper")
        if os.path.exists(path):
            return path
    pytest.fail("conveyor-test-helper is missing: run `swift build --product conveyor-test-helper` in %s "
                "(or set CONVEYOR_TEST_HELPER)" % REPOSITORY)


def run_python(code, *arguments, pass_fds=()):
    """Starts ``python -c code arguments...`` with this package importable."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(conveyor.__file__))] + environment.get("PYTHONPATH", "").split(os.pathsep))
    return subprocess.Popen([sys.executable, "-c", code] + [str(a) for a in arguments], env=environment,
                            pass_fds=pass_fds, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)

"""Builds Conveyor's C library (and the `conveyor` executable, which hosts the
loader's worker processes) with SwiftPM and puts both in the package.

`pip install ./python` runs `swift build -c release --product ConveyorC` and
`--product conveyor` in the repository root (this file's parent folder), or,
with CONVEYOR_LIBRARY set, copies that library (and the `conveyor` next to it,
or $CONVEYOR_WORKER_EXECUTABLE) instead.
"""

import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(HERE)


def built_artifacts():
    library = os.environ.get("CONVEYOR_LIBRARY")
    if library:
        executable = os.environ.get("CONVEYOR_WORKER_EXECUTABLE") or os.path.join(os.path.dirname(library), "conveyor")
        return library, executable
    if not os.path.exists(os.path.join(REPOSITORY, "Package.swift")):
        raise SystemExit("conveyor: no Package.swift in %s; build the library yourself "
                         "(swift build -c release --product ConveyorC) and set CONVEYOR_LIBRARY" % REPOSITORY)
    if shutil.which("swift") is None:
        raise SystemExit("conveyor: `swift` is not on PATH; install Swift 6, or build the library elsewhere "
                         "and set CONVEYOR_LIBRARY to it")
    for product in ("ConveyorC", "conveyor"):
        subprocess.check_call(["swift", "build", "-c", "release", "--product", product], cwd=REPOSITORY)
    binaries = subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPOSITORY,
                                       universal_newlines=True).strip()
    return os.path.join(binaries, "libConveyorC.so"), os.path.join(binaries, "conveyor")


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "conveyor", "_lib")
        os.makedirs(target, exist_ok=True)
        for path in built_artifacts():
            if not os.path.exists(path):
                raise SystemExit("conveyor: %s is missing after the build" % path)
            shutil.copy2(path, target)


# The loader's per-batch call without ctypes (conveyor/_speedups.c). Optional: without a C compiler the
# package makes that call through ctypes, a little slower.
SPEEDUPS = Extension("conveyor._speedups", sources=["conveyor/_speedups.c"], optional=True,
                     include_dirs=[os.path.join(REPOSITORY, "Sources", "ConveyorCABI", "include")])

setup(cmdclass={"build_py": BuildWithLibrary}, ext_modules=[SPEEDUPS])

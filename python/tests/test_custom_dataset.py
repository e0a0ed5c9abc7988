"""A dataset of your own from Python: python/examples/custom_dataset builds a
library embedding the C interface with its Squares description registered,
and a worker program hosting it."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPOSITORY

EXAMPLE = os.path.join(REPOSITORY, "python", "examples", "custom_dataset")

CHECK = """
import conveyor
from conveyor.torch import DataLoader
loader = DataLoader(conveyor.DatasetDescription("Squares", count=1000), batch_size=64, shuffle=True, num_workers=2,
                    seed=4, timeout=60)
seen = []
for batch in loader:
    squares, rows = batch["square"], batch["row"]
    assert (rows[:, 0].long() ** 2 == squares).all() and (rows[:, 2] == rows[:, 0]).all()
    seen += rows[:, 0].long().tolist()
loader.close()
assert sorted(seen) == list(range(1000)), "every sample once"
print("squares ok", len(seen))
"""


@pytest.mark.skipif(shutil.which("swift") is None, reason="needs swift to build the example")
def test_a_dataset_of_your_own_feeds_pytorch():
    pytest.importorskip("torch")
    for product in ("SquaresConveyor", "squares-workers"):
        build = subprocess.run(["swift", "build", "--product", product], cwd=EXAMPLE, timeout=1800,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        assert build.returncode == 0, build.stdout[-3000:]
    binaries = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=EXAMPLE,
                                       universal_newlines=True).strip()
    import conveyor
    environment = dict(os.environ, CONVEYOR_LIBRARY=os.path.join(binaries, "libSquaresConveyor.so"),
                       CONVEYOR_WORKER_EXECUTABLE=os.path.join(binaries, "squares-workers"),
                       PYTHONPATH=os.path.dirname(os.path.dirname(conveyor.__file__)))
    child = subprocess.run([sys.executable, "-c", CHECK], env=environment, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert child.returncode == 0, child.stderr
    assert "squares ok 1000" in child.stdout

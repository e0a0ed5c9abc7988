"""conveyor.Loader: bad input is a clear error; closing never hangs."""

import time

import numpy as np
import pytest

import conveyor


def test_bad_configurations_say_what_is_wrong(tmp_path):
    path = str(tmp_path / "data.npy")
    np.save(path, np.zeros((10, 3), np.float32))
    with pytest.raises(conveyor.InvalidArgument, match="batchSize is 0"):
        conveyor.Loader(conveyor.NumpyDataset(path), batch_size=0, backend="inline")
    with pytest.raises(conveyor.InvalidArgument, match="no dataset description type is registered as 'Nope'"):
        conveyor.Loader(conveyor.DatasetDescription("Nope"), batch_size=1, backend="inline")
    with pytest.raises(conveyor.SystemCallFailed, match="missing.npy") as missing:
        conveyor.Loader(conveyor.NumpyDataset(str(tmp_path / "missing.npy")), batch_size=1, backend="inline")
    assert missing.value.errno == 2
    with open(str(tmp_path / "bad.npy"), "wb") as bad:
        bad.write(b"not a numpy file at all")
    with pytest.raises(conveyor.InvalidFile, match="bad.npy"):
        conveyor.Loader(conveyor.NumpyDataset(str(tmp_path / "bad.npy")), batch_size=1, backend="inline")
    with pytest.raises(conveyor.InvalidArgument, match="sampler 'backwards'"):
        conveyor.Loader(conveyor.NumpyDataset(path), batch_size=1, sampler="backwards", backend="inline")


def test_samplers_and_rows(tmp_path):
    path = str(tmp_path / "data.npy")
    data = np.arange(40, dtype=np.int64).reshape(10, 4)
    np.save(path, data)
    with conveyor.Loader(conveyor.NumpyDataset(path, field="x"), batch_size=4, sampler={"indices": [9, 0, 5]},
                         workers=2) as loader:
        batches = [(b.indices(), b["x"].copy(), b.rows("x")) for b in loader]
    assert [indices for indices, _, _ in batches] == [[9, 0, 5]]
    assert np.array_equal(batches[0][1], data[[9, 0, 5]]) and batches[0][2] == [4, 4, 4]


@pytest.mark.parametrize("in_place", [False, True])
def test_closing_mid_epoch_returns_promptly(in_place):
    slow = conveyor.SyntheticImageDataset(count=10_000, height=4, width=4, sleep_ns_per_sample=50_000_000)
    for lent in (True, False):
        loader = conveyor.Loader(slow, batch_size=4, workers=2, timeout=60, in_place=in_place)
        batches = iter(loader)
        if lent:
            next(batches)  # a batch lent to Python, its worker busy with the next
        started = time.monotonic()
        loader.close()
        assert time.monotonic() - started < 5
        with pytest.raises(conveyor.Closed):
            loader.state()


@pytest.mark.parametrize("through", ["speedups", "ctypes"])
def test_the_per_batch_call_through_the_extension_or_ctypes(tmp_path, monkeypatch, through):
    """conveyor._speedups (when built) and the ctypes fallback deliver the same batches, errors included."""
    from conveyor import _native
    if through == "ctypes":
        monkeypatch.setattr(_native, "_speedups", None)
    elif _native._speedups is None:
        pytest.skip("conveyor._speedups was not built (no C compiler at install time)")
    path = str(tmp_path / "data.npy")
    data = np.arange(70, dtype=np.int32).reshape(35, 2)
    np.save(path, data)
    with conveyor.Loader(conveyor.NumpyDataset(path, field="x"), batch_size=8, workers=2, seed=3,
                         shuffle=True) as loader:
        for _ in range(2):
            batches = [(b.epoch, b.index, b.indices(), b["x"].copy()) for b in loader]
            assert [index for _, index, _, _ in batches] == list(range(5))
            assert sorted(i for _, _, indices, _ in batches for i in indices) == list(range(35))
            for _, _, indices, rows in batches:
                assert np.array_equal(rows, data[indices])
        # An error of the call (here: the handle closed under the iteration) is an exception, not a crash.
        batches = iter(loader)
        next(batches)
        loader._life.close()
        with pytest.raises(conveyor.InvalidArgument, match="not open"):
            next(batches)

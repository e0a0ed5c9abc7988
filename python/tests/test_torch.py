"""conveyor.torch: batches of Swift worker processes, as tensors, in the
Swift loader's order, resumable."""

import os
import signal

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import conveyor  # noqa: E402
from conveyor.torch import DataLoader  # noqa: E402


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("npy") / "images.npy")
    data = (np.arange(1000 * 28 * 28, dtype=np.int64).reshape(1000, 28, 28) * 7 % 251).astype(np.uint8)
    np.save(path, data)
    return path, data


def swift_batches(path, epochs, **options):
    """The batches of the Swift loader in this process (inline), copied, with their indices."""
    with conveyor.Loader(conveyor.NumpyDataset(path, field="image"), backend="inline", **options) as loader:
        return [[(b.indices(), b["image"].copy()) for b in loader] for _ in range(epochs)]


def test_same_batches_same_order_as_the_swift_loader(images):
    path, data = images
    expected = swift_batches(path, 2, batch_size=64, shuffle=True, seed=11)
    for workers, in_place in ((1, None), (2, None), (2, True)):
        loader = DataLoader(conveyor.NumpyDataset(path, field="image"), batch_size=64, shuffle=True, seed=11,
                            num_workers=workers, timeout=60, in_place=in_place)
        assert len(loader) == 16
        for epoch in range(2):
            got = [batch["image"].clone() for batch in loader]
            assert len(got) == len(expected[epoch]) == 16
            for tensor, (indices, array) in zip(got, expected[epoch]):
                assert tensor.dtype == torch.uint8 and tuple(tensor.shape) == array.shape
                assert np.array_equal(tensor.numpy(), array)
                assert np.array_equal(array, data[indices])
        loader.close()
    # Every sample once per epoch.
    assert sorted(i for indices, _ in expected[0] for i in indices) == list(range(1000))


@pytest.mark.parametrize("in_place", [False, True])
def test_resume_gives_the_uninterrupted_batches(images, in_place):
    path, _ = images
    expected = swift_batches(path, 2, batch_size=50, shuffle=True, seed=3)
    first = DataLoader(conveyor.NumpyDataset(path, field="image"), batch_size=50, shuffle=True, seed=3, num_workers=2,
                       in_place=in_place)
    batches = iter(first)
    taken = [next(batches)["image"].clone() for _ in range(7)]
    state = first.state_dict()
    assert state == {"seed": 3, "epoch": 0, "next_batch": 7}
    del batches
    first.close()

    resumed = DataLoader(conveyor.NumpyDataset(path, field="image"), batch_size=50, shuffle=True, seed=0,
                         num_workers=2, in_place=in_place)
    resumed.load_state_dict(state)
    rest = [batch["image"].clone() for batch in resumed]
    following = [batch["image"].clone() for batch in resumed]
    resumed.close()
    assert len(taken) + len(rest) == 20
    for tensor, (_, array) in zip(taken + rest, expected[0]):
        assert np.array_equal(tensor.numpy(), array)
    for tensor, (_, array) in zip(following, expected[1]):
        assert np.array_equal(tensor.numpy(), array)


def test_copies_outlive_the_slot(images):
    path, data = images
    loader = DataLoader(conveyor.NumpyDataset(path, field="image"), batch_size=100, num_workers=2, copy=True)
    kept = list(loader)
    loader.close()
    assert np.array_equal(torch.cat([b["image"] for b in kept]).numpy(), data)


def test_a_killed_worker_is_reported():
    loader = DataLoader(conveyor.SyntheticImageDataset(count=100_000, height=8, width=8, sleep_ns_per_sample=200_000),
                        batch_size=8, num_workers=2, timeout=60)
    batches = iter(loader)
    next(batches)
    victim = loader.worker_pids[1]
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(conveyor.WorkerDied) as died:
        for _ in batches:
            pass
    assert died.value.pid == victim and died.value.worker == 1
    assert "signal 9" in died.value.status
    loader.close()


def test_each_batch_is_a_dict_of_its_own(images):
    """A batch's dict is handed out again only when nobody holds it and it is unchanged: a kept dict keeps its
    items, and a dict changed and dropped never comes back changed."""
    path, data = images
    loader = DataLoader(conveyor.NumpyDataset(path, field="image"), batch_size=50, num_workers=2, timeout=60)
    for _ in range(2):
        kept = []
        for number, batch in enumerate(loader):
            assert list(batch) == ["image"] and isinstance(batch["image"], torch.Tensor)
            assert np.array_equal(batch["image"].numpy(), data[number * 50:(number + 1) * 50])
            if number % 3 == 0:
                kept.append((batch, batch["image"]))
            elif number % 3 == 1:
                batch["image"], batch["extra"] = None, 1
            else:
                image = batch.pop("image")
                batch["image"] = image  # the same items in the same order again: may be handed out again
        assert len(kept) == 7
        for batch, tensor in kept:
            assert list(batch) == ["image"] and batch["image"] is tensor
    held = list(loader)  # every dict held: none may be handed out twice
    assert len({id(batch) for batch in held}) == len(held) == 20
    assert all(list(batch) == ["image"] for batch in held)
    loader.close()

"""``conveyor.torch``: a PyTorch training loop fed by Conveyor's worker
processes (Swift programs: no GIL, no pickling) through shared memory.

    from conveyor.torch import DataLoader
    loader = DataLoader(conveyor.NumpyDataset("train.npy", field="image"),
                        batch_size=64, shuffle=True, num_workers=2, seed=42)
    for epoch in range(10):
        for batch in loader:                  # one epoch per iteration
            images = batch["image"]           # torch.uint8 [64, 28, 28]
            ...
            checkpoint = {"model": model.state_dict(), "loader": loader.state_dict()}
    # later, in a new process:
    loader.load_state_dict(checkpoint["loader"])   # the next iteration gives the batches that came next

Each batch is a dict of tensors, one per field (a dict of its own: change
it freely). With ``copy=False`` (the default) a tensor is
``torch.from_numpy`` over the batch's memory (the shared-memory slot its
worker wrote, or with ``in_place=False`` the library's copy of it): valid
until the next batch is asked for. The tensors of a slot are made once and
handed out again with each later batch in that slot, so a tensor kept past
its batch shows a later batch, not an error: copy what you keep
(``tensor.clone()``), or pass ``copy=True``. Only this module imports torch.
"""

import torch

from .loader import Loader


class DataLoader:
    """An iterable of batches for a PyTorch loop, in PyTorch's vocabulary
    (``batch_size``, ``shuffle``, ``drop_last``, ``num_workers``,
    ``prefetch_factor``, ``timeout``, ``state_dict``/``load_state_dict``).

    ``dataset`` is a Conveyor dataset description (``conveyor.NumpyDataset``,
    ``conveyor.SyntheticImageDataset``, ``conveyor.DatasetDescription``).
    Batches and their order depend only on ``seed`` (and the epoch), not on
    ``num_workers``. ``num_workers=0`` makes batches in this process.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, num_workers=2, prefetch_factor=2,
                 seed=0, timeout=None, copy=False, worker_executable=None, sampler=None, in_place=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.copy = copy
        self._options = dict(
            batch_size=batch_size, shuffle=shuffle, sampler=sampler, drop_last=drop_last, workers=num_workers,
            backend="processes" if num_workers > 0 else "inline", prefetch=prefetch_factor, seed=seed,
            timeout=timeout if timeout else None, worker_executable=worker_executable, label="torch",
            in_place=in_place)
        self._loader = None
        self._resume = None

    def _started(self):
        if self._loader is None:
            self._loader = Loader(self.dataset, state=self._resume, **self._options)
            self._resume = None
        return self._loader

    def __iter__(self):
        """One epoch of batches (dicts of tensors)."""
        loader = self._started()
        names = [field.name for field in loader.schema]
        if self.copy:
            return ({name: torch.from_numpy(array.copy()) for name, array in zip(names, arrays)}
                    for arrays in loader._epoch(None))
        # The same memory always gives the same arrays (see Loader): their tensors are made once per place, and
        # each batch is a dict of its own (a loop may change it). Returned, not iterated here: one generator.
        return loader._epoch(lambda arrays: {name: torch.from_numpy(a) for name, a in zip(names, arrays)},
                             dict.copy)

    def __len__(self):
        """Batches per epoch (for the sequential and shuffled samplers)."""
        count = self._started().dataset_count
        return count // self.batch_size if self._options["drop_last"] else -(-count // self.batch_size)

    def state_dict(self):
        """Where the loader is ({"seed", "epoch", "next_batch"}): save it with
        the model; ``load_state_dict`` resumes exactly there."""
        if self._loader is None and self._resume is not None:
            return dict(self._resume)
        state = self._started().state()
        return {"seed": state["seed"], "epoch": state["epoch"], "next_batch": state["nextBatch"]}

    def load_state_dict(self, state_dict):
        """Resumes from a ``state_dict()``: the next iteration delivers the
        batches the saved run would have delivered next (its seed included)."""
        self.close()
        self._resume = {"seed": int(state_dict["seed"]), "epoch": int(state_dict["epoch"]),
                        "next_batch": int(state_dict["next_batch"])}
        self._options["seed"] = self._resume["seed"]

    @property
    def worker_pids(self):
        """The worker processes' pids."""
        return self._started().worker_pids

    def close(self):
        """Stops the worker processes (a new iteration starts them again)."""
        loader, self._loader = self._loader, None
        if loader is not None:
            loader.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

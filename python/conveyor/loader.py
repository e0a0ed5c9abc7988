"""A Conveyor ``DataLoader`` driven from Python: worker processes (Swift
programs) make collated batches straight into shared memory, and Python
reads each batch where its worker wrote it.

    loader = conveyor.Loader(conveyor.NumpyDataset("train.npy", field="image"),
                             batch_size=64, shuffle=True, workers=2, seed=42)
    for batch in loader:              # one epoch
        images = batch["image"]       # numpy u8[64, 28, 28], in the slot: valid until the next batch
    state = loader.state()            # {"seed", "epoch", "nextBatch"}: resume with Loader(..., state=state)

The datasets are Swift dataset descriptions, named by type and given as
JSON: the built-in ``NumpyDataset``, ``SyntheticImageDataset`` and
``DirectoryDataset``, or your own, registered by your own worker program
(``worker_executable``: a Swift program whose ``main`` calls
``WorkerProcess.bootstrap(datasets: YourDescription.self)``).
"""

import ctypes
import json
import os

import numpy as np

from . import _native, errors
from .schema import from_json


class DatasetDescription:
    """A Swift dataset description: its registered type name and its JSON fields."""

    def __init__(self, type_name, **fields):
        self.type_name = type_name
        self.fields = fields

    def json(self):
        return json.dumps(self.fields)

    def __repr__(self):
        return "%s(%s)" % (self.type_name, ", ".join("%s=%r" % item for item in sorted(self.fields.items())))


def NumpyDataset(path=None, field="data", columns=None):
    """A .npy file (memory-mapped by each worker), its rows as field ``field``;
    or ``columns={"image": "images.npy", "label": "labels.npy"}``: several
    files of the same length as the fields of one dataset (a Conveyor whose
    NumpyDataset.Description has columns; an older one refuses it)."""
    if columns is None:
        if path is None:
            raise errors.InvalidArgument("NumpyDataset needs a path, or columns")
        columns = {field: path}
    columns = [{"field": name, "path": os.path.abspath(file)} for name, file in dict(columns).items()]
    fields = {"columns": columns}
    if len(columns) == 1:
        # The one-file form too, for a Conveyor that describes one file by path and field.
        fields.update(path=columns[0]["path"], field=columns[0]["field"])
    return DatasetDescription("NumpyDataset", **fields)


def SyntheticImageDataset(count, height=32, width=32, channels=3, classes=10, seed=0, work_per_sample=0,
                          sleep_ns_per_sample=0):
    """Deterministic images (field "image" u8[h, w, c], "label" i64) for demos and benchmarks."""
    return DatasetDescription(
        "SyntheticImageDataset", count=count, height=height, width=width, channels=channels, classes=classes,
        seed=seed, workPerSample=work_per_sample, sleepNanosecondsPerSample=sleep_ns_per_sample)


def worker_executable():
    """The program worker processes run: ``$CONVEYOR_WORKER_EXECUTABLE``, or
    the ``conveyor`` executable next to the library."""
    path = os.environ.get("CONVEYOR_WORKER_EXECUTABLE")
    if path:
        return path
    path = os.path.join(os.path.dirname(_native.library_path), "conveyor")
    if os.path.exists(path):
        return path
    raise errors.LibraryNotFound(
        "worker processes need the `conveyor` executable (it hosts the built-in datasets) but %s is missing; "
        "build it with `swift build -c release --product conveyor` next to the library, or set "
        "CONVEYOR_WORKER_EXECUTABLE" % path)


class Batch:
    """One collated batch: ``batch["name"]`` is field ``name`` as a NumPy
    array ``[samples] + shape`` over the batch's memory (with worker
    processes, the shared-memory slot its worker wrote), valid until the
    loader's next batch."""

    __slots__ = ("epoch", "index", "size", "arrays", "_loader", "_names")

    def __init__(self, loader, epoch, index, size, arrays):
        self._loader = loader
        self._names = loader._index
        self.epoch = epoch
        self.index = index
        self.size = size
        self.arrays = arrays

    def __getitem__(self, name):
        return self.arrays[self._names[name] if isinstance(name, str) else name]

    def keys(self):
        return self._names.keys()

    def indices(self):
        """The dataset indices of the batch's samples."""
        out = (ctypes.c_int64 * self.size)()
        _native.call("conveyor_loader_indices", _native._u64(self._loader._checked()), out, self.size)
        return list(out)

    def rows(self, name):
        """The rows each sample uses in field ``name`` (fields whose first dimension varies)."""
        out = (ctypes.c_int64 * self.size)()
        _native.call("conveyor_loader_rows", _native._u64(self._loader._checked()), self._names[name], out,
                     self.size)
        return list(out)


class Loader(_native.HandleOwner):
    """A Conveyor DataLoader of a dataset description, iterated from Python.

    ``workers`` worker processes (``backend="processes"``, the default) or
    threads (``"threads"``) or none (``"inline"``) make the batches; each
    iteration is one epoch, in the same order for any worker count.
    ``in_place`` True or None (the default) lends each batch where its
    worker wrote it (its slot is held on this thread until the next batch or
    ``release``: nothing is copied); False copies it out of the slot into
    buffers the loader reuses. Either way a batch's arrays are valid until
    the next batch (or ``release``): they must not be used after that.
    """

    kind = "loader"

    def __init__(self, dataset, batch_size, shuffle=False, sampler=None, drop_last=False, workers=2,
                 backend="processes", prefetch=2, ordered=True, seed=0, timeout=None, state=None,
                 worker_executable=None, label="python", in_place=None):
        if sampler is None:
            sampler = "shuffled" if shuffle else "sequential"
        if backend == "inline" or workers == 0:
            backend_json = "inline"
        elif backend in ("threads", "processes"):
            backend_json = {backend: int(workers)}
        else:
            raise errors.InvalidArgument("backend %r: use processes, threads or inline" % (backend,))
        configuration = {
            "batchSize": int(batch_size), "sampler": sampler, "dropLast": bool(drop_last), "workers": backend_json,
            "prefetch": int(prefetch), "delivery": "ordered" if ordered else "unordered", "seed": int(seed),
            "label": label,
        }
        if in_place is not None:
            configuration["inPlace"] = bool(in_place)
        if timeout is not None:
            configuration["batchTimeoutSeconds"] = float(timeout)
        if isinstance(backend_json, dict) and "processes" in backend_json:
            configuration["workerExecutable"] = globals()["worker_executable"]() if worker_executable is None \
                else worker_executable
        handle = _native._u64()
        _native.call("conveyor_loader_start", _native.encode(dataset.type_name), _native.encode(dataset.json()),
                     _native.encode(json.dumps(configuration)),
                     None if state is None else _native.encode(json.dumps(_state_json(state))), ctypes.byref(handle))
        self._own(handle.value)
        description = _native.call_json("conveyor_loader_describe", _native._u64(self._handle))
        self.schema = from_json(description["schema"])
        self.dataset_count = description["datasetCount"]
        self.worker_pids = description["workerProcessIDs"]
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)
        self._index = {field.name: i for i, field in enumerate(self.schema)}
        count = len(self.schema)
        self._count = count
        self._fields = (ctypes.c_void_p * count)()
        self._bytes = (ctypes.c_uint64 * count)()
        self._error = _native.Error()
        # What conveyor_loader_next_batch fills: made once, passed by reference for every batch.
        self._batch = _native.Batch(loader=self._handle, field_count=count, fields=self._fields,
                                    byte_counts=self._bytes, error=ctypes.pointer(self._error))
        self._views = {}
        self._shapes = [(field.shape, field.numpy_dtype) for field in self.schema]
        self._next_batch = _native.next_batch_call(self._batch)  # (call, its two arguments: see _native)

    def __iter__(self):
        """One epoch: yields Batches, each valid until the next is asked for."""
        batch = self._batch
        for arrays in self._epoch(None):
            yield Batch(self, batch.epoch, batch.index, batch.samples, arrays)

    def _epoch(self, make, fresh=None):
        """One epoch, as an iterator: per batch, its arrays (``make`` None)
        or ``make(arrays)``, made once per place in memory and reused (with
        ``fresh``, None or ``dict.copy``, ``fresh(made)`` instead: a dict
        the caller may change). The epoch begins at the first ``next``. The
        current batch's epoch, index and size are in ``self._batch``."""
        fields, sizes, count, view = self._fields, self._bytes, self._count, self._view

        def begin():
            _native.call("conveyor_loader_begin_epoch", _native._u64(self._checked()))
        if _native._speedups is not None:
            # The same loop in C (conveyor._speedups.Epoch), ``make`` called only for a place not seen yet.
            def made_for(samples):
                made = tuple(view(index, fields[index], sizes[index], samples) for index in range(count))
                return made if make is None else make(made)

            def fail():
                raise _native.exception(self._error)
            return _speedups_epoch(self._next_batch, begin, made_for, fail, fresh)
        return self._epoch_through_ctypes(begin, make, fresh)

    def _epoch_through_ctypes(self, begin, make, fresh):
        """``_epoch`` in Python, through ctypes (when conveyor._speedups was not built)."""
        begin()
        fields, sizes, count, places, view = self._fields, self._bytes, self._count, {}, self._view
        next_batch, function, argument = self._next_batch
        while True:
            samples = next_batch(function, argument)
            if samples <= 0:
                if samples == 0:
                    return
                raise _native.exception(self._error)
            # A batch's memory is one of a few places (its slots, or the loader's copy buffers): what is made
            # of it is made once per place and size. The first field's address names the place, and the
            # sample count every field's size (each is samples x its fixed shape).
            key = (fields[0] << 32) + samples
            made = places.get(key)
            if made is None:
                made = tuple(view(index, fields[index], sizes[index], samples) for index in range(count))
                if make is not None:
                    made = make(made)
                if len(places) > 1024:
                    places.clear()
                places[key] = made
            yield made if fresh is None else fresh(made)

    def _view(self, index, address, nbytes, samples):
        key = (index, address, nbytes)
        view = self._views.get(key)
        if view is None:
            shape, dtype = self._shapes[index]
            if nbytes == 0:
                return np.zeros((samples,) + shape, dtype)
            buffer = (ctypes.c_char * nbytes).from_address(address)
            buffer.owner = self._life  # an array keeps the loader's handle, and so the batch memory, alive
            view = np.frombuffer(buffer, dtype=dtype).reshape((samples,) + shape)
            if len(self._views) > 1024:
                self._views.clear()
            self._views[key] = view
        return view

    def release(self):
        """Gives the current batch back to its worker now (the next batch does so too)."""
        _native.call("conveyor_loader_release", _native._u64(self._checked()))

    def state(self):
        """Where the loader is: {"seed", "epoch", "nextBatch"}. A Loader made
        with ``state=`` this delivers exactly the batches that would have come next."""
        return _native.call_json("conveyor_loader_state", _native._u64(self._checked()))

    def close(self):
        """Stops the workers (waits for them; kills what does not stop within a second)."""
        super().close()


def _speedups_epoch(call, begin, made_for, fail, fresh):
    """conveyor._speedups.Epoch over ``call`` (``_native.next_batch_call``'s triple); ``fresh`` None or dict.copy."""
    if fresh not in (None, dict.copy):
        raise ValueError("fresh must be None or dict.copy")
    _, function, batch = call
    return _native._speedups.Epoch(function, batch, begin, made_for, fail, fresh is dict.copy,
                                   _native.next_batch_hooked_address())


def _state_json(state):
    """A state dict in the library's keys; accepts next_batch or nextBatch."""
    return {"seed": int(state["seed"]), "epoch": int(state["epoch"]),
            "nextBatch": int(state["nextBatch"] if "nextBatch" in state else state["next_batch"])}

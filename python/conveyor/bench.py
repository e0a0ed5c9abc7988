"""``python -m conveyor.bench [--json] [--list] [SCENARIO ...]``: the shared
benchmark scenarios (SCENARIOS.md's row format) with Python producer
processes and a Python consumer over Conveyor rings, and ``torch-npy``: a
PyTorch loop fed by Conveyor's worker processes (images and labels, two
.npy files as one dataset) beside the same loader consumed from Swift
(`conveyor bench loader-npy`) and PyTorch's own DataLoader over the same files.

    python3 -m conveyor.bench --json
    /work/shared/anchors/compare -- python3 -m conveyor.bench --json   # beside the seed's SMQueue

The ring scenarios' producer processes come from multiprocessing's "forkserver" context with ``conveyor``
preloaded: each is forked from a server process that imported Conveyor but never used it, so it cannot inherit a
lock held by a thread of this process (which runs Conveyor's peer watcher once it made a ring). The seed's
benchmark forks its producers from the consumer's process instead. A scenario's clock starts before its producers
are asked for and stops when the consumer took the last item: it includes each producer's start (the server's
fork, the child's import of this module and its attach), as the anchors' clocks include theirs, but not the
server's own start (a fresh interpreter importing NumPy and Conveyor, once per run: ``producer_context`` does it
before the first clock starts).
"""

import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from .ring import Ring

IMPL = "conveyor (Python)"
#: name: (floats, ints, items) of SCENARIOS.md.
SIZES = {"ring-4k": (1024, 16, 20000), "ring-256k": (65536, 16, 2000), "ring-4m": (1 << 20, 16, 400)}


def _nothing():
    pass


#: Whether the fork server has started and imported Conveyor (``producer_context``).
_server_warm = False


def producer_context():
    """The "forkserver" context the ring scenarios start their producers with. The first call starts its server
    and one empty process from it, so the server has imported Conveyor before any clock starts: a producer
    started first would wait for that import (~0.1 s here), which only the first scenario's clock would hold."""
    global _server_warm
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["conveyor"])
    if not _server_warm:
        warm = context.Process(target=_nothing)
        warm.start()
        warm.join(60)
        _server_warm = True
    return context


def _schema(floats, ints):
    return [("f", "f32", (floats,)), ("i", "i32", (ints,))]


def _produce(name, floats, ints, worker, workers, count, pause, stamp):
    ring = Ring.attach(name=name, schema=_schema(floats, ints))
    producer = ring.producer()
    for k in range(worker, count, workers):
        if pause:
            time.sleep(pause)
        with producer.reserve(timeout=60) as item:
            item["f"].fill(k)
            i = item["i"]
            i.fill(k)
            if stamp:
                now = time.monotonic_ns()
                i[1], i[2] = now >> 31, now & 0x7FFFFFFF
    producer.close()
    ring.close()


def ring_scenario(scenario, floats, ints, count, workers, pause=0.0, stamp=False):
    """``workers`` producer processes put items 0..<count (item k: floats and ints all k); the consumer checks each."""
    context = producer_context()
    with Ring.create(_schema(floats, ints), lanes=workers, slots=10, name=True) as ring, ring.consumer() as consumer:
        processes = [context.Process(target=_produce, args=(ring.name, floats, ints, w, workers, count, pause, stamp))
                     for w in range(workers)]
        started = time.perf_counter()
        for process in processes:
            process.start()
        seen = np.zeros(count, np.int32)
        corrupt = 0
        latencies = []
        for _ in range(count):
            with consumer.next(timeout=60, cold_boot=True) as lease:
                if stamp:
                    stamped = lease.arrays[1]
                    latencies.append((time.monotonic_ns() - ((int(stamped[1]) << 31) | int(stamped[2]))) / 1000.0)
                f, i = lease.arrays
                k = int(i[0])
                if not (f[0] == k and f[-1] == k and i[-1] == k) or not 0 <= k < count:
                    corrupt += 1
                    continue
                seen[k] += 1
        seconds = time.perf_counter() - started
        for process in processes:
            process.join(30)
    item_bytes = (floats + ints) * 4
    row = dict(scenario=scenario, impl=IMPL, items=count, item_bytes=item_bytes, workers=workers,
               seconds=round(seconds, 4), items_per_s=round(count / seconds, 1),
               MB_per_s=round(count * item_bytes / seconds / 1e6, 1), corrupt=corrupt,
               missing=int(np.sum(seen == 0)), duplicated=int(np.sum(np.maximum(seen - 1, 0))))
    if latencies:
        latencies.sort()
        row["p50_us"] = round(latencies[len(latencies) // 2], 1)
        row["p99_us"] = round(latencies[int(len(latencies) * 0.99)], 1)
    return row


# ---- torch-npy ---------------------------------------------------------------

def torch_npy_files(folder):
    """60,000 u8 images 28x28 and their labels, as .npy files in ``folder``."""
    images, labels = os.path.join(folder, "images.npy"), os.path.join(folder, "labels.npy")
    generator = np.random.default_rng(0)
    np.save(images, generator.integers(0, 256, size=(60000, 28, 28), dtype=np.uint8))
    np.save(labels, generator.integers(0, 10, size=60000).astype(np.int64))
    return images, labels


def conveyor_torch_npy_dataset(images, labels):
    """The dataset Conveyor's workers read: both files as one two-column
    NumpyDataset (fields "image" and "label"), as PyTorch's side reads them."""
    from .loader import NumpyDataset
    return NumpyDataset(columns={"image": images, "label": labels})


class MappedImages:
    """A map-style PyTorch dataset over the memory-mapped .npy files (what
    PyTorch's DataLoader is measured with): (image, label), or the image only."""

    def __init__(self, images, labels=None):
        self.paths = (images, labels)
        self.arrays = None

    def __len__(self):
        return 60000

    def __getitem__(self, index):
        if self.arrays is None:
            self.arrays = [np.load(path, mmap_mode="r") if path else None for path in self.paths]
        images, labels = self.arrays
        image = np.array(images[index])
        return image if labels is None else (image, int(labels[index]))


def swift_reference():
    """The `conveyor` executable whose `bench loader-npy` runs torch-npy's loader
    consumed from Swift (the same two-file dataset, shuffled, batches of 64,
    2 worker processes, the epoch after a warm one): $CONVEYOR_SWIFT_REFERENCE,
    or the one next to the library."""
    from . import _native
    path = os.environ.get("CONVEYOR_SWIFT_REFERENCE") or os.path.join(
        os.path.dirname(_native.library_path), "conveyor")
    return path if os.path.exists(path) else None


def swift_rows(executable, scenario="loader-npy-in-place"):
    """``scenario``'s rows by `executable` (`conveyor bench --json`): loader-npy-in-place is torch-npy's loader
    consumed from Swift in place (2 worker processes, one timed epoch after a warm one); [] when it fails."""
    try:
        out = subprocess.run([executable, "bench", "--json", scenario], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True, timeout=600)
    except (OSError, subprocess.SubprocessError):
        return []
    rows = []
    for line in out.stdout.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("scenario") == scenario:
            rows.append(row)
    return rows


def _epoch_samples_per_s(loader, key=None, timed=1):
    """Samples and seconds of the fastest of ``timed`` epochs, after a warm one. Samples are counted by
    ``shape[0]``, a C getter (``len`` of a tensor runs Python code: about as much as a loader's whole batch)."""
    for _ in loader:  # the warm epoch
        pass
    best = None
    for _ in range(timed):
        started = time.perf_counter()
        samples = 0
        for batch in loader:
            samples += (batch[key] if key is not None else batch).shape[0]
        seconds = time.perf_counter() - started
        if best is None or seconds < best[1]:
            best = (samples, seconds)
    return best


#: conveyor.torch's loader in torch-npy, configured as `conveyor bench loader-npy-in-place` configures its own.
TORCH_NPY_OPTIONS = dict(batch_size=64, shuffle=True, num_workers=2, prefetch_factor=4, timeout=60)
#: Pairs (conveyor.torch, the same loader from Swift) measured back to back; the order alternates within pairs.
TORCH_NPY_PAIRS = 3
#: Each side's figure is the fastest of this many epochs of one fresh loader, after a warm one.
TORCH_NPY_EPOCHS = 5


def torch_npy_rows():
    import torch
    import torch.utils.data
    from .torch import DataLoader as ConveyorDataLoader

    rows = []
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as folder:
        images, labels = torch_npy_files(folder)

        def row(impl, workers, samples, seconds, note):
            return dict(scenario="torch-npy", impl=impl, items=samples, item_bytes=28 * 28 + 8, workers=workers,
                        seconds=round(seconds, 4), items_per_s=round(samples / seconds, 1),
                        MB_per_s=round(samples * (28 * 28 + 8) / seconds / 1e6, 1), corrupt=0, missing=0,
                        duplicated=0, note=note)

        def python_side(seed):
            # A fresh loader per pair, as the Swift side starts a fresh one: a warm epoch, then the timed one.
            loader = ConveyorDataLoader(conveyor_torch_npy_dataset(images, labels), seed=seed, **TORCH_NPY_OPTIONS)
            try:
                return _epoch_samples_per_s(loader, "image", timed=TORCH_NPY_EPOCHS)
            finally:
                loader.close()

        # conveyor.torch and the same loader consumed from Swift (`conveyor bench loader-npy-in-place`, its own
        # files of the same shapes), interleaved pair by pair on a shared machine: the ratio is taken per pair.
        swift = swift_reference()
        pairs = []
        for pair in range(TORCH_NPY_PAIRS if swift else 1):
            python_first = pair % 2 == 0
            measured = {}
            for side in ("python", "swift") if python_first else ("swift", "python"):
                if side == "python":
                    measured[side] = python_side(pair + 1)
                else:
                    found = swift_rows(swift)
                    if found:
                        measured[side] = found[0]
            pairs.append(measured)
        best = max((p["python"] for p in pairs), key=lambda m: m[0] / m[1])
        note = ("samples/s, batches of 64, shuffled, prefetch 4; the fastest of %d epochs after a warm one, the best "
                "of %d fresh loaders" % (TORCH_NPY_EPOCHS, len(pairs)))
        ratios = [(p["python"][0] / p["python"][1]) / p["swift"]["items_per_s"] for p in pairs if "swift" in p]
        if ratios:
            note += "; per pair, x the same loader consumed from Swift in place just before or after: %s" % (
                ", ".join("%.2f" % r for r in ratios))
        rows.append(row("conveyor.torch (2 worker processes, images+labels)", 2, best[0], best[1], note))
        swift_side = [p["swift"] for p in pairs if "swift" in p]
        if swift_side:
            reference = max(swift_side, key=lambda r: r["items_per_s"])
            rows.append(dict(reference, scenario="torch-npy",
                             impl="conveyor DataLoader from Swift (2 processes, in place, batch path)",
                             note="the best of %d, each paired with a conveyor.torch run: %s" % (
                                 len(swift_side), reference.get("note", ""))))
        for with_labels in (True, False):
            for workers in (0, 2):
                options = dict(num_workers=workers, persistent_workers=True) if workers else {}
                dataset = MappedImages(images, labels if with_labels else None)
                loader = torch.utils.data.DataLoader(dataset, batch_size=64, shuffle=True, **options)
                rows.append(row("torch DataLoader (%d workers, %s)" % (
                    workers, "images+labels" if with_labels else "images"), workers,
                    *_epoch_samples_per_s(loader, 0 if with_labels else None),
                    note="samples/s, batches of 64, shuffled, one epoch after a warm one"))
                del loader
    return rows


SCENARIOS = ["ring-4k", "ring-256k", "ring-4m", "ring-latency", "torch-npy"]


def run(name):
    if name in SIZES:
        floats, ints, count = SIZES[name]
        return [ring_scenario(name, floats, ints, count, 2)]
    if name == "ring-latency":
        return [ring_scenario(name, 1024, 16, 2000, 1, pause=0.0005, stamp=True)]
    if name == "torch-npy":
        import importlib.util
        if importlib.util.find_spec("torch") is None:
            return []  # the scenario needs torch
        return torch_npy_rows()
    raise SystemExit("unknown scenario %r; known: %s" % (name, ", ".join(SCENARIOS)))


def main(arguments):
    as_json = "--json" in arguments
    names = [a for a in arguments if not a.startswith("--")]
    if "--list" in arguments:
        print("\n".join(SCENARIOS))
        return 0
    for name in names or SCENARIOS:
        for row in run(name):
            if as_json:
                print(json.dumps(row, sort_keys=True), flush=True)
            else:
                extra = "".join("  %s %s" % (k, row[k]) for k in ("p50_us", "p99_us") if k in row)
                print("%-14s %-40s %12.1f items/s %10.1f MB/s  faults %d%s" % (
                    row["scenario"], row["impl"], row["items_per_s"], row["MB_per_s"],
                    row["corrupt"] + row["missing"] + row["duplicated"], extra), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The same reads as `conveyor bench stream-tar sqlite-read`, done by Python.

Usage:
  python3 stream_readers.py tar SHARD...        Python's tarfile reads every shard in order
                                                (streaming mode), and webdataset's own reader
                                                when it is installed
  python3 stream_readers.py sqlite PATH COUNT   sqlite3 reads the table `samples` (id, data BLOB,
                                                label INTEGER) shuffled, 64 rows per IN query

Each sample of the tar shards is KEY.bin, 4096 bytes, byte 0 = KEY mod 256; row i of
the table has data[0] = i mod 256 and label = i. Prints one JSON row a line in the
shared format (items_per_s counting samples), after a warm pass over the same data.
"""
import json
import random
import sqlite3
import sys
import tarfile
import time

ITEM_BYTES = 4096


def row(scenario, impl, items, seconds, corrupt, missing, duplicated, note=None):
    out = {"scenario": scenario, "impl": impl, "items": items, "item_bytes": ITEM_BYTES, "workers": 1,
           "seconds": round(seconds, 4), "items_per_s": round((items - missing) / seconds, 1),
           "MB_per_s": round((items - missing) * ITEM_BYTES / seconds / 1e6, 1),
           "corrupt": corrupt, "missing": missing, "duplicated": duplicated}
    if note:
        out["note"] = note
    print(json.dumps(out), flush=True)


def read_tar(paths):
    seen = set()
    corrupt = duplicated = 0
    for path in paths:
        with tarfile.open(path, "r|") as archive:
            for member in archive:
                data = archive.extractfile(member).read()
                key = int(member.name.split(".", 1)[0])
                corrupt += len(data) != ITEM_BYTES or data[0] != key % 256
                duplicated += key in seen
                seen.add(key)
    return seen, corrupt, duplicated


def read_webdataset(paths):
    import webdataset as wds
    seen = set()
    corrupt = duplicated = 0
    for sample in wds.WebDataset(paths, shardshuffle=False):
        key = int(sample["__key__"])
        data = sample["bin"]
        corrupt += len(data) != ITEM_BYTES or data[0] != key % 256
        duplicated += key in seen
        seen.add(key)
    return seen, corrupt, duplicated


def tar(paths):
    count = len(read_tar(paths)[0])  # the warm pass
    start = time.perf_counter()
    seen, corrupt, duplicated = read_tar(paths)
    row("stream-tar", "python tarfile (1 process, streaming)", count, time.perf_counter() - start, corrupt,
        count - len(seen), duplicated)
    try:
        import webdataset  # noqa: F401
    except ImportError:
        return
    read_webdataset(paths)
    start = time.perf_counter()
    seen, corrupt, duplicated = read_webdataset(paths)
    row("stream-tar", "python webdataset (1 process, no decoding)", count, time.perf_counter() - start, corrupt,
        count - len(seen), duplicated)


def read_sqlite(path, count, seed):
    order = list(range(count))
    random.Random(seed).shuffle(order)
    connection = sqlite3.connect("file:" + path + "?mode=ro", uri=True)
    connection.execute("PRAGMA mmap_size = 1099511627776")  # as Conveyor's connections: pages read through a mapping
    seen = set()
    corrupt = duplicated = 0
    for start in range(0, count, 64):
        keys = order[start:start + 64]
        rows = {identifier: (data, label) for identifier, data, label in connection.execute(
            "SELECT id, data, label FROM samples WHERE id IN (%s)" % ",".join("?" * len(keys)), keys)}
        for key in keys:
            data, label = rows[key]
            corrupt += len(data) != ITEM_BYTES or data[0] != key % 256 or label != key
            duplicated += key in seen
            seen.add(key)
    connection.close()
    return seen, corrupt, duplicated


def sqlite(path, count):
    read_sqlite(path, count, 1)
    start = time.perf_counter()
    seen, corrupt, duplicated = read_sqlite(path, count, 2)
    row("sqlite-read", "python sqlite3 (1 process, 64 rows per IN query)", count, time.perf_counter() - start,
        corrupt, count - len(seen), duplicated,
        note="one read-only connection with PRAGMA mmap_size as Conveyor's; per batch of 64 shuffled ids one "
             "SELECT id, data, label ... WHERE id IN (?,...) (the statement cached by sqlite3), its rows put in "
             "batch order through a dict; the same database file")


if __name__ == "__main__":
    if sys.argv[1] == "tar":
        tar(sys.argv[2:])
    else:
        sqlite(sys.argv[2], int(sys.argv[3]))

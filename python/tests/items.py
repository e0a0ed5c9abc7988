"""The test items: item k holds ``1 + k % F`` rows of floats and I ints,
every value equal to k (the pattern conveyor-test-helper uses, so Swift and
Python peers check each other). A torn or stale write shows."""

import numpy as np

FLOATS = 64
INTS = 4
SCHEMA = [("f", "f32", (FLOATS,)), ("i", "i32", (INTS,))]


def rows(k):
    return 1 + k % FLOATS


def write(producer, k, timeout=30):
    with producer.reserve(timeout=timeout) as item:
        item["f"][:rows(k)] = k
        item["i"][:] = k
        item.set_rows("f", rows(k))


def check(lease):
    """The item's k, after checking every value; raises AssertionError on a bad item."""
    k = int(lease["i"][0])
    assert lease.rows("f") == rows(k), "item %d has %d float rows" % (k, lease.rows("f"))
    assert np.all(lease["f"] == k) and np.all(lease["i"] == k), "item %d holds other values" % k
    return k


def produce(name, start, count, lane=None):
    """A producer process's body: attaches by name, writes items start..<start+count."""
    import conveyor
    ring = conveyor.Ring.attach(name=name, schema=SCHEMA)
    with ring.producer(lane) as producer:
        for k in range(start, start + count):
            write(producer, k)

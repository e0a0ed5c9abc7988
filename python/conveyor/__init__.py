"""Conveyor from Python: shared-memory rings, the seed's SMQueue, and a
data loader whose worker processes are Swift programs.

One implementation: everything here calls Conveyor's C interface
(libConveyorC.so, include/conveyor.h) through ctypes; no protocol logic is
written twice.

    import conveyor
    ring = conveyor.Ring.create([("image", "f32", (1024,)), ("label", "i32", ())], lanes=2, slots=8, name=True)
    # in a producer process: ring = conveyor.Ring.attach(name=NAME)
    with ring.producer() as producer:
        with producer.reserve(timeout=10) as item:
            item["image"][:] = 1.0
            item["label"][...] = 7
    # in the consumer:
    with ring.consumer() as consumer, consumer.next(timeout=10) as item:
        print(item["label"], item["image"][:4])
"""

from .errors import (  # noqa: F401
    Closed, ConsumerGone, ConveyorError, CorruptSegment, ForeignSegment, InsufficientSharedMemory,
    InvalidArgument, InvalidFile, ItemTooLarge, LibraryNotFound, ProducerDied, ProducerStalled, RingReset,
    SchemaMismatch, SegmentTruncated, SourceFailed, SystemCallFailed, TimedOut, Unavailable, VersionMismatch,
    WorkerDied,
)
from .schema import DTYPES, Field, make_schema  # noqa: F401
from .ring import Consumer, Lease, Producer, Reservation, Ring  # noqa: F401
from .smqueue import SMQueue  # noqa: F401
from .loader import DatasetDescription, Loader, NumpyDataset, SyntheticImageDataset  # noqa: F401
from ._native import library_path  # noqa: F401

__version__ = "0.1.0"

__all__ = [
    "Closed", "ConsumerGone", "ConveyorError", "CorruptSegment", "ForeignSegment", "InsufficientSharedMemory",
    "InvalidArgument", "InvalidFile", "ItemTooLarge", "LibraryNotFound", "ProducerDied", "ProducerStalled",
    "RingReset", "SchemaMismatch", "SegmentTruncated", "SourceFailed", "SystemCallFailed", "TimedOut", "Unavailable", "VersionMismatch",
    "WorkerDied", "DTYPES", "Field", "make_schema", "Consumer", "Lease", "Producer", "Reservation", "Ring",
    "SMQueue", "DatasetDescription", "Loader", "NumpyDataset", "SyntheticImageDataset", "library_path",
    "remove_stale_segments",
]


def remove_stale_segments():
    """Removes /dev/shm ring segments whose creator died; returns their names."""
    from . import _native
    return _native.call_json("conveyor_remove_stale_segments")

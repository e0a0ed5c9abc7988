"""Exceptions mirroring Conveyor's ``ConveyorError``: one class per case.

Every exception carries the library's full message (what happened and what
to do) and, where the error names them, ``pid``, ``lane`` (or ``worker``),
``index``, ``status`` (how a process ended) and ``errno``.
"""


class ConveyorError(Exception):
    """Any error Conveyor reports. ``code`` is the C interface's code."""

    code = 0

    def __init__(self, message, pid=None, lane=None, index=None, status=None, errno=None):
        super().__init__(message)
        self.message = message
        self.pid = pid
        self.lane = lane
        self.index = index
        self.status = status
        self.errno = errno


class TimedOut(ConveyorError, TimeoutError):
    """A wait ran out of time."""
    code = 1


class Closed(ConveyorError):
    """The queue, ring or loader was closed; from a ring's consumer, the end
    of the stream (every producer finished and everything was delivered:
    ``Consumer.next`` returns None for it instead)."""
    code = 2


class InvalidArgument(ConveyorError, ValueError):
    """An argument or configuration value is out of range."""
    code = 3


class SystemCallFailed(ConveyorError):
    """A system call failed; ``errno`` says why."""
    code = 4


class SourceFailed(ConveyorError):
    """A dataset threw; ``index`` is the sample, ``worker`` the worker that ran it."""
    code = 5

    @property
    def worker(self):
        return self.lane


class InsufficientSharedMemory(ConveyorError, MemoryError):
    """/dev/shm has too little room for the segment."""
    code = 6


class ForeignSegment(ConveyorError):
    """The segment is not a Conveyor ring."""
    code = 7


class VersionMismatch(ConveyorError):
    """The segment has another format version."""
    code = 8


class SchemaMismatch(ConveyorError):
    """The ring's schema is not the one asked for."""
    code = 9


class CorruptSegment(ConveyorError):
    """The segment is truncated or holds impossible values."""
    code = 10


class ItemTooLarge(ConveyorError, ValueError):
    """A field holds more rows than its maximum; nothing was published."""
    code = 11


class ProducerDied(ConveyorError):
    """A producer process died (``pid``, ``lane``, ``status``: how it ended);
    everything it committed was delivered before this is raised."""
    code = 12


class ProducerStalled(ConveyorError, TimeoutError):
    """A producer is alive but stopped (state T: SIGSTOP, SIGTSTP) and produced
    nothing in time (``pid``, ``lane``); a running producer that sends
    nothing gives ``TimedOut`` instead."""
    code = 13


class ConsumerGone(ConveyorError):
    """Every consumer of the ring is gone; a producer would wait forever."""
    code = 14


class RingReset(ConveyorError):
    """The ring was reset by some process while this one waited on it."""
    code = 15


class WorkerDied(ConveyorError):
    """A loader's worker process died (``worker``, ``pid``, ``status``)."""
    code = 16

    @property
    def worker(self):
        return self.lane


class Unavailable(ConveyorError):
    """A lane, segment or consumer place is in use or missing."""
    code = 17


class InvalidFile(ConveyorError):
    """A data file cannot be used as it is."""
    code = 18


class SegmentTruncated(ConveyorError):
    """Another process shrank the ring's segment while this one used it
    (raised by Conveyor versions that detect it)."""
    code = 19


class LibraryNotFound(ConveyorError, ImportError):
    """The Conveyor library (libConveyorC.so) could not be found or loaded."""
    code = -1


BY_CODE = {cls.code: cls for cls in (
    TimedOut, Closed, InvalidArgument, SystemCallFailed, SourceFailed, InsufficientSharedMemory,
    ForeignSegment, VersionMismatch, SchemaMismatch, CorruptSegment, ItemTooLarge, ProducerDied,
    ProducerStalled, ConsumerGone, RingReset, WorkerDied, Unavailable, InvalidFile, SegmentTruncated)}

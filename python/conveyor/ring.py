"""Shared-memory rings from Python: ``Ring``, ``Producer``, ``Consumer``.

Every item is read and written in place: ``Producer.reserve`` gives NumPy
arrays over the slot's memory, ``Consumer.next`` gives arrays over the
item's rows. Those arrays are valid only while the reservation or lease is
open (inside its ``with`` block); after that the slot belongs to someone else.

The end of a stream: each producer calls ``finish()`` when done; once every
lane is finished and drained, ``Consumer.next`` returns None and iterating
over a consumer ends. A process that ends with its producer open and not
finished counts as dead: consumers get its items, then ProducerDied.

Processes: a ring is shared by name (``Ring.attach(name=...)``; a named ring
pickles as its name) or by descriptor. Any start method works. A child
forked (multiprocessing's "fork") after its parent used Conveyor is safe
from Conveyor's own threads: a fork waits until they are idle and hold no
lock. It is not safe from the parent's other threads: a thread of yours
inside a Conveyor call (or any code holding a lock) at the fork can leave
the child waiting forever. "spawn" and "forkserver" have no such risk.
"""

import ctypes

import numpy as np

from . import _native
from ._native import lib
from .schema import from_json, make_schema, schema_json


def _seconds(timeout):
    return -1.0 if timeout is None else float(timeout)


class _LibraryDefault:
    def __repr__(self):
        return "LIBRARY_DEFAULT"


#: A setting left as the library has it (the defaults the docstrings name are the library's).
LIBRARY_DEFAULT = _LibraryDefault()


def _set_waits(handle, prefix, timeout_name, timeout, spin_time):
    """Sets a producer's or consumer's wait settings that were given (a timeout of None: no limit)."""
    if timeout is not LIBRARY_DEFAULT:
        _native.call("conveyor_%s_set_%s" % (prefix, timeout_name), _native._u64(handle), _seconds(timeout))
    if spin_time is not LIBRARY_DEFAULT:
        _native.call("conveyor_%s_set_spin_time" % prefix, _native._u64(handle), float(spin_time))


class _Views:
    """NumPy arrays over slot memory, made once per (field, address): a slot
    is always at the same place in this process's mapping of the ring."""

    __slots__ = ("schema", "cache", "writeable", "slots", "owner")

    def __init__(self, schema, writeable):
        self.schema = schema
        self.owner = None  # the producer's or consumer's Handle: it keeps the ring mapped
        self.cache = {}
        self.writeable = writeable
        self.slots = {}

    def slot(self, addresses):
        """Every field's full array in the slot whose fields are at ``addresses``
        (a slot's first field's address names the slot)."""
        views = self.slots.get(addresses[0])
        if views is None:
            views = tuple(self.full(index, addresses[index]) for index in range(len(self.schema)))
            if len(self.slots) > 4096:
                self.slots.clear()
            self.slots[addresses[0]] = views
        return views

    def full(self, field, address):
        key = (field, address)
        view = self.cache.get(key)
        if view is None:
            spec = self.schema[field]
            buffer = (ctypes.c_char * spec.nbytes).from_address(address)
            # An array keeps its producer or consumer (and so the ring's mapping) alive: a view kept too long
            # shows other items' data, never unmapped memory (unless the owner is closed explicitly).
            buffer.owner = self.owner
            view = np.frombuffer(buffer, dtype=spec.numpy_dtype).reshape(spec.shape)
            if not self.writeable:
                view.flags.writeable = False
            if len(self.cache) > 4096:
                self.cache.clear()
            self.cache[key] = view
        return view


class Ring(_native.HandleOwner):
    """A ring of typed item slots in shared memory (Conveyor's SharedRing).

    ``Ring.create(schema, lanes, slots)`` makes one; other processes attach
    with ``Ring.attach(name=...)`` (a named ring) or
    ``Ring.attach(fd=...)`` (a descriptor they inherited, e.g. through
    ``subprocess.Popen(pass_fds=[ring.descriptor])``). A named ring pickles
    as its name, so it can be passed to ``multiprocessing`` processes.
    """

    kind = "ring"

    def __init__(self, handle):
        self._own(handle)
        description = _native.call_json("conveyor_ring_describe", _native._u64(handle))
        self.schema = from_json(description["schema"])
        self.lanes = description["lanes"]
        self.slots_per_lane = description["slotsPerLane"]
        self.byte_count = description["byteCount"]
        self.descriptor = description["descriptor"]
        self.name = description["name"]

    @classmethod
    def create(cls, schema, lanes=1, slots=8, name=None):
        """A new ring of ``lanes`` lanes (one per producer) of ``slots`` slots.
        ``name`` None: anonymous (share ``descriptor``); True: a named segment
        in /dev/shm with a name nobody can guess; a str: that name."""
        schema = make_schema(schema)
        handle = _native._u64()
        named = name is not None and name is not False
        _native.call("conveyor_ring_create", _native.encode(schema_json(schema)), int(lanes), int(slots),
                     1 if named else 0, _native.encode(name) if isinstance(name, str) else None,
                     ctypes.byref(handle))
        return cls(handle.value)

    @classmethod
    def attach(cls, name=None, fd=None, schema=None):
        """Attaches to the ring named ``name`` or behind descriptor ``fd``;
        with ``schema``, the ring must hold exactly that schema."""
        text = None if schema is None else _native.encode(schema_json(make_schema(schema)))
        handle = _native._u64()
        if (name is None) == (fd is None):
            raise ValueError("pass exactly one of name and fd")
        if name is not None:
            _native.call("conveyor_ring_attach_name", _native.encode(name), text, ctypes.byref(handle))
        else:
            _native.call("conveyor_ring_attach_descriptor", int(fd), text, ctypes.byref(handle))
        return cls(handle.value)

    @property
    def handle(self):
        """The C interface's handle of the ring."""
        return self._checked()

    def producer(self, lane=None, first_consumer_timeout=LIBRARY_DEFAULT, spin_time=LIBRARY_DEFAULT):
        """Claims a lane (``lane``, or the first free one) and returns its
        Producer; see Producer for the two settings."""
        return Producer(self, lane, first_consumer_timeout=first_consumer_timeout, spin_time=spin_time)

    def consumer(self, ordered=False, first_item_timeout=LIBRARY_DEFAULT, spin_time=LIBRARY_DEFAULT):
        """A Consumer; ``ordered`` reads lanes round-robin (producer w's k-th
        item is item k * lanes + w), else whichever lane is ready. See
        Consumer for the two settings."""
        return Consumer(self, ordered, first_item_timeout=first_item_timeout, spin_time=spin_time)

    def info(self):
        """The ring's state now (a dict): depth, capacity, per-lane producer
        pid and state, committed, consumed and discarded counts, ``finished``; ``text``
        holds the same as readable lines."""
        return _native.call_json("conveyor_ring_info", _native._u64(self.handle))

    def reset(self):
        """Empties the ring for every process; producers waiting get RingReset."""
        _native.call("conveyor_ring_reset", _native._u64(self.handle))

    def close(self):
        """Lets go of the ring (a named ring's creator unlinks its segment once
        nothing of it is open in this process)."""
        super().close()

    def __reduce__(self):
        if self.name is None:
            raise TypeError("an anonymous ring cannot be pickled: pass ring.descriptor to the child "
                            "(subprocess pass_fds) and attach with Ring.attach(fd=...), or create a named ring")
        return (_attach_named, (self.name, self.schema))

    def __repr__(self):
        return "Ring(%s, lanes=%d, slots=%d%s)" % (
            ", ".join("%s: %s%s" % (f.name, f.dtype, list(f.shape)) for f in self.schema), self.lanes,
            self.slots_per_lane, ", name=%r" % self.name if self.name else "")


def _attach_named(name, schema):
    return Ring.attach(name=name, schema=schema)


class Producer(_native.HandleOwner):
    """The producer of one lane. ``reserve`` lends a slot to write in place;
    ``put`` copies arrays in. Used by one thread at a time.

    ``first_consumer_timeout``: how long a reserve on a full lane waits for
    the ring's first consumer before ConsumerGone (the library's default
    60 seconds; None: as long as the ring's creator lives).
    ``spin_time``: seconds a reserve re-checks a full lane before it sleeps
    (default 50 µs; 0: never spin)."""

    kind = "producer"

    def __init__(self, ring, lane=None, first_consumer_timeout=LIBRARY_DEFAULT, spin_time=LIBRARY_DEFAULT):
        self.ring = ring
        self.schema = ring.schema
        count = len(self.schema)
        self._count = count
        self._fields = (ctypes.c_void_p * count)()
        self._capacities = (ctypes.c_uint64 * count)()
        self._rows = (ctypes.c_int64 * count)()
        self._error = _native.Error()
        self._error_ref = ctypes.byref(self._error)
        self._views = _Views(self.schema, writeable=True)
        self._index = {field.name: i for i, field in enumerate(self.schema)}
        handle = _native._u64()
        claimed = ctypes.c_int32()
        _native.call("conveyor_producer_open", _native._u64(ring.handle), -1 if lane is None else int(lane),
                     ctypes.byref(handle), ctypes.byref(claimed))
        self._own(handle.value)
        self._views.owner = self._life
        self.lane = claimed.value
        _set_waits(handle.value, "producer", "first_consumer_timeout", first_consumer_timeout, spin_time)
        self._reserve = lib.conveyor_producer_reserve
        self._commit = _native.fast.conveyor_producer_commit

    def reserve(self, timeout=None):
        """Reserves the lane's next slot (waiting while the lane is full, up to
        ``timeout`` seconds) and returns a Reservation: arrays over the slot,
        each field at its maximum rows. Commit it, or use it as a context
        manager (commits on a clean exit, discards on an exception)."""
        if self._reserve(self._checked(), -1.0 if timeout is None else timeout, self._count, self._fields,
                         self._capacities, self._error_ref):
            raise _native.exception(self._error)
        return Reservation(self, self._views.slot(self._fields))

    def put(self, *arrays, timeout=None, **named):
        """Copies one item in and commits it: one array per field, in schema
        order or by name. A field takes ``len(array)`` rows (a scalar fills
        every row)."""
        if named:
            if arrays:
                raise TypeError("pass the fields either in order or by name, not both")
            try:
                arrays = [named[field.name] for field in self.schema]
            except KeyError as missing:
                raise _native.errors.InvalidArgument("field %s is missing from put()" % missing) from None
        if len(arrays) != self._count:
            raise _native.errors.InvalidArgument(
                "put needs %d arrays (one per field), got %d" % (self._count, len(arrays)))
        item = self.reserve(timeout)
        try:
            for index, data in enumerate(arrays):
                item._fill(index, data)
        except BaseException:
            item.discard()
            raise
        item.commit()

    def finish(self):
        """Ends this lane's stream: everything committed is still delivered,
        then consumers see the end (``Consumer.next`` returns None once every
        lane is finished and drained) instead of waiting for more. The lane
        stays finished (nobody claims it) until the ring is reset; later
        reserves raise Closed. A process that ends with its producer open and
        not finished (killed, crashed, ``os._exit``) is a death: consumers get
        its items, then ProducerDied."""
        _native.call("conveyor_producer_finish", _native._u64(self._checked()))

    def close(self):
        """Frees the lane (a new producer may claim it; consumers wait for
        one). ``finish`` first to end the lane's stream instead."""
        super().close()


class Reservation:
    """A reserved slot being written: ``item["name"]`` is the field's array
    over the slot at its maximum rows. ``set_rows`` says how many rows a
    field holds (all, unless set); ``commit`` publishes the item."""

    __slots__ = ("_producer", "_rows", "_open", "arrays")

    def __init__(self, producer, arrays):
        self._producer = producer
        self._rows = None
        self._open = True
        #: Every field's array over the slot, in schema order.
        self.arrays = arrays

    def __getitem__(self, name):
        return self.arrays[self._producer._index[name] if isinstance(name, str) else name]

    def set_rows(self, name, rows):
        """The item holds ``rows`` rows of field ``name`` (0 up to its maximum)."""
        producer = self._producer
        if self._rows is None:
            self._rows = [field.max_rows for field in producer.schema]
        self._rows[producer._index[name] if isinstance(name, str) else name] = int(rows)

    def _fill(self, index, data):
        view = self[index]
        field = self._producer.schema[index]
        data = np.asarray(data)
        if not field.shape:
            view[...] = data.reshape(())
            return
        if data.ndim == 0:
            view[...] = data
            return
        rows = data.shape[0]
        if rows > field.max_rows:
            raise _native.errors.ItemTooLarge(
                "field '%s' holds %d rows but its maximum is %d; nothing was published" % (field.name, rows, field.max_rows))
        view[:rows] = data
        if rows != field.max_rows:
            self.set_rows(index, rows)

    def commit(self):
        """Publishes the item."""
        if not self._open:
            raise _native.errors.InvalidArgument("this reservation was committed or discarded already")
        self._open = False
        producer = self._producer
        rows = None
        if self._rows is not None:
            rows = producer._rows
            for index, count in enumerate(self._rows):
                rows[index] = count
        if producer._commit(producer._checked(), producer._count, rows, producer._error_ref):
            raise _native.exception(producer._error)

    def discard(self):
        """Gives the slot back unpublished."""
        if self._open:
            self._open = False
            _native.call("conveyor_producer_discard", _native._u64(self._producer._checked()))

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            if self._open:
                self.commit()
        else:
            self.discard()


class Consumer(_native.HandleOwner):
    """A consumer of a ring: ``next`` leases the next item, read in place.
    Several consumers (in any processes) may share a ring; each item goes to
    exactly one. Used by one thread at a time.

    ``first_item_timeout``: the longest a ``cold_boot`` wait for this
    consumer's first item lasts when ``timeout`` is shorter (the library's
    default 60 seconds; None: no limit); a consumer whose producers never
    come then raises TimedOut. ``spin_time``: seconds ``next`` re-checks an
    empty ring before it sleeps (default 0.002, adapting below it; 0: never
    spin)."""

    kind = "consumer"

    def __init__(self, ring, ordered=False, first_item_timeout=LIBRARY_DEFAULT, spin_time=LIBRARY_DEFAULT):
        self.ring = ring
        self.schema = ring.schema
        count = len(self.schema)
        self._count = count
        self._fields = (ctypes.c_void_p * count)()
        self._rows = (ctypes.c_int64 * count)()
        self._lease = ctypes.c_uint64()
        self._place = (ctypes.c_int64 * 2)()
        self._error = _native.Error()
        self._error_ref = ctypes.byref(self._error)
        self._lease_ref = ctypes.byref(self._lease)
        self._shapes = [(bool(field.shape), field.max_rows) for field in self.schema]
        self._full_rows = bytes((ctypes.c_int64 * count)(*[field.max_rows for field in self.schema]))
        self._views = _Views(self.schema, writeable=False)
        self._index = {field.name: i for i, field in enumerate(self.schema)}
        handle = _native._u64()
        _native.call("conveyor_consumer_open", _native._u64(ring.handle), 1 if ordered else 0, ctypes.byref(handle))
        self._own(handle.value)
        _set_waits(handle.value, "consumer", "first_item_timeout", first_item_timeout, spin_time)
        self._views.owner = self._life
        self._next = lib.conveyor_consumer_next
        self._release = _native.fast.conveyor_consumer_release

    def next(self, timeout=None, cold_boot=False):
        """Leases the next item, waiting (without polling) up to ``timeout``
        seconds (None: no limit); with ``cold_boot`` the wait for this
        consumer's first item lasts up to the longer of ``timeout`` and
        ``first_item_timeout`` (60 seconds unless set: a producer that never
        comes must not block forever). Returns None at the end of the
        stream: every lane's producer called ``finish`` and every item was
        delivered. Raises ProducerDied (after that producer's committed items
        were all delivered), ProducerStalled, TimedOut, CorruptSegment."""
        if self._next(self._checked(), -1.0 if timeout is None else timeout, 1 if cold_boot else 0, self._count,
                      self._fields, self._rows, self._lease_ref, self._place, self._error_ref):
            if self._error.code == _native.errors.Closed.code:
                return None
            raise _native.exception(self._error)
        views = self._views.slot(self._fields)
        if bytes(self._rows) == self._full_rows:  # every field full: the slot's arrays as they are
            arrays = views
        else:
            rows = self._rows
            arrays = tuple(
                view if rows[index] == maximum else (view[:rows[index]] if shaped else view.reshape(1)[:0])
                for index, (view, (shaped, maximum)) in enumerate(zip(views, self._shapes)))
        return Lease(self, self._lease.value, self._place[0], self._place[1], arrays)

    def __iter__(self):
        """Leases items until the end of the stream, releasing each one when
        the next is asked for (waits without limit; use ``next`` for a timeout)."""
        while True:
            lease = self.next()
            if lease is None:
                return
            try:
                yield lease
            finally:
                lease.release()

    def close(self):
        """Detaches (releasing any lease still held)."""
        super().close()


class Lease:
    """One leased item: ``lease["name"]`` is the field's rows, read-only, in
    the slot itself. ``release`` (or leaving the ``with`` block) gives the
    slot back to its producer; the arrays must not be used after that."""

    __slots__ = ("_consumer", "_number", "lane", "position", "arrays", "_open")

    def __init__(self, consumer, number, lane, position, arrays):
        self._consumer = consumer
        self._number = number
        self.lane = lane
        self.position = position
        self.arrays = arrays
        self._open = True

    def __getitem__(self, name):
        return self.arrays[self._consumer._index[name] if isinstance(name, str) else name]

    def rows(self, name):
        """The rows field ``name`` holds in this item."""
        array = self[name]
        return array.shape[0] if array.ndim else 1

    def release(self):
        """Gives the slot back to its producer."""
        if self._open:
            self._open = False
            consumer = self._consumer
            handle = consumer._life.value
            if handle is None:
                return  # the consumer was closed, which released it
            if consumer._release(handle, self._number, consumer._error_ref):
                raise _native.exception(consumer._error)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        try:
            self.release()
        except Exception:
            pass

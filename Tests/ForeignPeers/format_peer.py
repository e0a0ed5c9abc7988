#!/usr/bin/env python3
"""A Conveyor ring peer written from docs/FORMAT.md alone: Python 3 + numpy.

It attaches to a named ring (/dev/shm/NAME), validates its header as
FORMAT.md's *Validation* says, and acts as a consumer or a producer:

    format_peer.py check   --name NAME
    format_peer.py read    --name NAME --lane L --start K --count N [--timeout S]
    format_peer.py produce --name NAME [--lane L] --start K --count N [--timeout S] [--finish 1]

`check` validates and prints the field table. `read` registers as a
consumer, takes N items from lane L, checks each against the test pattern
(item k of the pattern at the lane's i-th item, k = K + i) and releases it.
`produce` claims a free lane (or lane L), writes N pattern items k = K...
and commits them, then releases the lane (with `--finish 1`, marks it
finished instead: the end of its stream).

Output: "field NAME DTYPE [DIMS] offset OFF" per field, then one summary line
("read N intact M", "claimed lane L" + "produced N"). Exit status 0 when
everything was intact, 1 when an item was not, 2 for any error (message on
stderr), so a caller can tell "the format disagrees" from "it broke".

THE TEST PATTERN (shared with Sources/conveyor-test-helper/Helper.swift):
for item k, field j (schema index), with maximum rows R = dimensions[0]
(rank >= 1) the item holds rows(k, j) = (k + j) mod (R + 1) rows; a rank-0
field holds 1. Scalar i (flat index over the rows held) has
v = (k*131 + j*17 + i) mod 200 and the value `pattern(dtype, v)` below.

RESTRICTIONS (see FORMAT.md, "Writing a peer in another language"):
* x86-64 only. Aligned 8- and 4-byte loads and stores (here through
  memoryview casts, each one machine load or store) are atomic there, and
  under x86-64's TSO memory model a plain store already has release and a
  plain load acquire semantics. CPython performs each subscript load or
  store below in its own C call, in program order, so the compiler cannot
  reorder them either. That covers every load/store ordering FORMAT.md asks
  for except seq_cst store-then-load, which only the futex notifier needs;
  we use the kernel's FUTEX_WAKE_OP (an atomic add and a wake behind a full
  barrier) for that instead.
* Python has no compare-and-swap. The CASes FORMAT.md requires are done as
  load-check-store, which is only correct while no other party competes
  for the same word:
    - claiming a lane (owner word 0 -> our process word): no other producer may be
      claiming a lane at the same time;
    - registering as a consumer (process word 0 -> ours): no other consumer may be
      registering at the same time;
    - taking an item (claim: holder 0 -> our process word, then advance:
      tail t -> t+1): this must be the ring's ONLY consumer while it reads
      (so also no reset may run).
  Releasing or finishing a lane is a plain store: only a dead owner's word
  is CASed by others, and we are alive while we hold it.
* Atomic increments of 32-bit words (consumersEver, the futex sequences)
  use FUTEX_WAKE_OP through libc's syscall(). We never sleep on a futex:
  we poll (every 200 us), so we never count ourselves a sleeper.
"""

import ctypes
import mmap
import os
import platform
import sys
import time

import numpy as np

# ---------------------------------------------------------------- format ----

MAGIC = 0x474E4952564E4F43          # "CONVRING" little-endian
VERSION = 4
CONSUMER_CAPACITY = 32
IMMUTABLE_BYTES = 128
CONSUMER_TABLE = 256
CONSUMER_ENTRY_BYTES = 16
FIELD_TABLE = 768
FIELD_ENTRY_BYTES = 128
LANE_HEADER_BYTES = 256
MAX_LANES, MIN_SLOTS, MAX_SLOTS, MAX_FIELDS, MAX_NAME, MAX_RANK = 256, 2, 1 << 20, 64, 47, 8

# Ring header words.
H_MAGIC, H_VERSION, H_HEADER_BYTES, H_LANES, H_SLOTS, H_FIELDS, H_CONSUMER_CAP = 0, 8, 12, 16, 20, 24, 28
H_SLOT_BYTES, H_SLOT_HEADER_BYTES, H_PAYLOAD_BYTES, H_LANE_HEADER_BYTES = 32, 40, 48, 56
H_SLOTS_OFFSET, H_TOTAL_BYTES, H_CREATOR_PID, H_CHECKSUM, H_CREATOR_START = 64, 72, 80, 84, 88
H_DATA_SEQUENCE, H_DATA_SLEEPERS, H_EPOCH, H_ORDER_TICKET, H_CONSUMERS_EVER = 128, 132, 192, 200, 208
H_CONSUMER_CHANGES = 212
# Lane header words (relative to the lane header).
L_OWNER, L_OWNER_START, L_HEAD, L_CLAIMED_AT = 0, 8, 16, 24
L_TAIL, L_ORDER_BASE, L_DISCARDED = 64, 72, 80
L_SPACE_SEQUENCE, L_SPACE_SLEEPERS = 128, 132
# Slot header words (relative to the slot).
S_SEQUENCE, S_HOLDER, S_ROWS = 0, 8, 64

# code -> (name, numpy little-endian dtype)
DTYPES = {
    1: ("u8", "<u1"), 2: ("i8", "<i1"), 3: ("i16", "<i2"), 4: ("u16", "<u2"),
    5: ("i32", "<i4"), 6: ("u32", "<u4"), 7: ("i64", "<i8"), 8: ("u64", "<u8"),
    9: ("f16", "<f2"), 10: ("f32", "<f4"), 11: ("f64", "<f8"),
}


class FormatError(Exception):
    """The segment is not a valid ring (foreign, wrong version or corrupt)."""


def align(x, a):
    return (x + a - 1) // a * a


def fnv1a32(data, h=0x811C9DC5):
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


class Field:
    def __init__(self, index, name, code, rank, offset, dims):
        self.index, self.name, self.code, self.rank = index, name, code, rank
        self.payload_offset, self.dims = offset, dims
        self.dtype_name, np_name = DTYPES[code]
        self.dtype = np.dtype(np_name)
        # rank 0: one row of one scalar. Otherwise dims[0] rows of prod(dims[1:]) scalars.
        self.max_rows = dims[0] if rank >= 1 else 1
        self.scalars_per_row = int(np.prod(dims[1:], dtype=np.int64)) if rank >= 2 else 1
        self.max_bytes = self.dtype.itemsize * self.max_rows * self.scalars_per_row

    def describe(self):
        return "field %s %s [%s] offset %d" % (
            self.name, self.dtype_name, ",".join(str(d) for d in self.dims), self.payload_offset)


class Ring:
    """A validated, mapped ring segment."""

    def __init__(self, name):
        path = "/dev/shm/" + name
        fd = os.open(path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                raise FormatError("corrupt: the segment is empty")
            self.mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)  # the mapping keeps the segment
        self.size = size
        self._validate()
        # Word views for atomic access: one machine load/store per subscript.
        whole = memoryview(self.mm)[: self.total_bytes]
        self.bytes = whole
        self.u32 = whole.cast("I")
        self.u64 = whole.cast("Q")
        self.base_address = ctypes.addressof(ctypes.c_char.from_buffer(self.mm))
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long

    def close(self):
        try:
            for view in (self.u32, self.u64, self.bytes):
                view.release()
            self.mm.close()
        except BufferError:
            pass  # a numpy view outlived an error; the process is ending anyway

    # --- validation (FORMAT.md "Validation", in its order) ---

    def _get(self, fmt_bytes, offset):
        return int.from_bytes(self.mm[offset:offset + fmt_bytes], "little")

    def _validate(self):
        size, get = self.size, self._get
        if size < 8:
            raise FormatError("corrupt: %d bytes, fewer than the magic number" % size)
        if get(8, H_MAGIC) != MAGIC:
            raise FormatError("foreign segment: first bytes %r, not CONVRING" % bytes(self.mm[:8]))
        if size < IMMUTABLE_BYTES:
            raise FormatError("corrupt: truncated header (%d bytes)" % size)
        version = get(4, H_VERSION)
        if version != VERSION:
            raise FormatError("version mismatch: found %d, expected %d" % (version, VERSION))
        F = get(4, H_FIELDS)
        if not 1 <= F <= MAX_FIELDS:
            raise FormatError("corrupt: field count %d" % F)
        if get(4, H_CONSUMER_CAP) != CONSUMER_CAPACITY:
            raise FormatError("corrupt: consumer capacity %d" % get(4, H_CONSUMER_CAP))
        table_end = FIELD_TABLE + FIELD_ENTRY_BYTES * F
        if size < table_end:
            raise FormatError("corrupt: truncated field table")
        h = fnv1a32(self.mm[0:H_CHECKSUM])
        h = fnv1a32(self.mm[H_CHECKSUM + 4:IMMUTABLE_BYTES], h)
        h = fnv1a32(self.mm[FIELD_TABLE:table_end], h)
        if h != get(4, H_CHECKSUM):
            raise FormatError("corrupt: checksum is %#x but the header gives %#x" % (get(4, H_CHECKSUM), h))

        fields, names = [], set()
        for j in range(F):
            e = FIELD_TABLE + FIELD_ENTRY_BYTES * j
            raw = bytes(self.mm[e:e + 48])
            length = raw.find(b"\0")
            length = 48 if length < 0 else length
            if not 1 <= length <= MAX_NAME or any(raw[length:]):
                raise FormatError("corrupt: field %d has no valid name" % j)
            try:
                name = raw[:length].decode("utf-8")
            except UnicodeDecodeError:
                raise FormatError("corrupt: field %d's name is not UTF-8" % j)
            if name in names:
                raise FormatError("corrupt: field name %r appears twice" % name)
            names.add(name)
            code, rank = self.mm[e + 48], self.mm[e + 49]
            if code not in DTYPES:
                raise FormatError("corrupt: field %r has dtype code %d" % (name, code))
            if rank > MAX_RANK:
                raise FormatError("corrupt: field %r has rank %d" % (name, rank))
            dims = [get(8, e + 64 + 8 * d) for d in range(MAX_RANK)]
            if any(d < 1 or d > 1 << 46 for d in dims[:rank]) or any(dims[rank:]):
                raise FormatError("corrupt: field %r has dimensions %r for rank %d" % (name, dims, rank))
            fields.append(Field(j, name, code, rank, get(8, e + 56), dims[:rank]))
        L, S = get(4, H_LANES), get(4, H_SLOTS)
        if not 1 <= L <= MAX_LANES or not MIN_SLOTS <= S <= MAX_SLOTS:
            raise FormatError("corrupt: %d lanes of %d slots" % (L, S))

        # Recompute every derived value (FORMAT.md "Layout rules").
        offsets, end = [], 0
        for f in fields:
            offsets.append(end)
            end = align(end + f.max_bytes, 64)
        payload = max(64, end)
        slot_header = align(S_ROWS + 4 * F, 64)
        header = align(FIELD_TABLE + FIELD_ENTRY_BYTES * F, 64)
        slots_offset = align(header + LANE_HEADER_BYTES * L, 4096)
        slot_bytes = slot_header + payload
        total = slots_offset + L * S * slot_bytes
        checks = [("headerBytes", get(4, H_HEADER_BYTES), header),
                  ("slotBytes", get(8, H_SLOT_BYTES), slot_bytes),
                  ("slotHeaderBytes", get(8, H_SLOT_HEADER_BYTES), slot_header),
                  ("payloadBytes", get(8, H_PAYLOAD_BYTES), payload),
                  ("laneHeaderBytes", get(8, H_LANE_HEADER_BYTES), LANE_HEADER_BYTES),
                  ("slotsOffset", get(8, H_SLOTS_OFFSET), slots_offset),
                  ("totalBytes", get(8, H_TOTAL_BYTES), total)]
        checks += [("payloadOffset of %s" % f.name, f.payload_offset, o) for f, o in zip(fields, offsets)]
        for what, found, expected in checks:
            if found != expected:
                raise FormatError("corrupt: %s is %d but the layout rules give %d" % (what, found, expected))
        if size < total:
            raise FormatError("corrupt: truncated, %d bytes of %d" % (size, total))
        self.fields, self.lanes, self.slots = fields, L, S
        self.header_bytes, self.slots_offset, self.slot_bytes = header, slots_offset, slot_bytes
        self.slot_header_bytes, self.total_bytes = slot_header, total

    # --- atomic words (x86-64: aligned, one instruction each; see the module docstring) ---

    def load64(self, offset):
        return self.u64[offset >> 3]

    def store64(self, offset, value):
        self.u64[offset >> 3] = value

    def load32(self, offset):
        return self.u32[offset >> 2]

    def store32(self, offset, value):
        self.u32[offset >> 2] = value

    def _futex_wake_op(self, offset, add, wake):
        """Atomically adds `add` (-2048...2047) to the u32 at `offset` and wakes up
        to `wake` waiters on it: FUTEX_WAKE_OP with uaddr == uaddr2, not private
        (the word is shared). The kernel takes a full barrier around it."""
        SYS_FUTEX, FUTEX_WAKE_OP, FUTEX_OP_ADD, FUTEX_OP_CMP_EQ = 202, 5, 1, 0
        op = (FUTEX_OP_ADD << 28) | (FUTEX_OP_CMP_EQ << 24) | ((add & 0xFFF) << 12) | 0
        address = ctypes.c_void_p(self.base_address + offset)
        result = self.libc.syscall(ctypes.c_long(SYS_FUTEX), address, ctypes.c_int(FUTEX_WAKE_OP),
                                   ctypes.c_int(wake), ctypes.c_void_p(0), address, ctypes.c_int(op))
        if result < 0:
            raise OSError(ctypes.get_errno(), "futex(FUTEX_WAKE_OP) failed")

    def atomic_add32(self, offset, add):
        self._futex_wake_op(offset, add, 0)

    def notify(self, sequence_offset):
        """The notifier of FORMAT.md "Waiting", done unconditionally: bump the
        event's sequence (atomically) and wake every sleeper."""
        self._futex_wake_op(sequence_offset, 1, 0x7FFFFFFF)

    # --- geometry ---

    def lane(self, lane):
        return self.header_bytes + LANE_HEADER_BYTES * lane

    def slot(self, lane, position):
        return self.slots_offset + (lane * self.slots + position % self.slots) * self.slot_bytes

    def field_view(self, slot, field, rows):
        """A numpy view of the first `rows` rows of `field` in the slot at `slot`."""
        start = slot + self.slot_header_bytes + field.payload_offset
        return np.frombuffer(self.mm, dtype=field.dtype, count=rows * field.scalars_per_row, offset=start)


# --------------------------------------------------------------- liveness ---

def start_time(pid):
    """Field 22 of /proc/PID/stat. Field 2 (comm) is in parentheses and may hold
    spaces or ')', so fields are counted after the LAST ')' (that is field 2)."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        stat = f.read()
    rest = stat[stat.rindex(b")") + 2:].split()
    return int(rest[22 - 3])


def process_word(pid):
    """FORMAT.md "Process words": pid in bits 0-31, start time mod 2^31 in bits 32-62."""
    return pid | (start_time(pid) & 0x7FFFFFFF) << 32


FINISHED_BIT = 1 << 63


# ---------------------------------------------------------------- pattern ---

def rows_of(field, k):
    return (k + field.index) % (field.max_rows + 1) if field.rank >= 1 else 1


def pattern(field, k, rows):
    count = rows * field.scalars_per_row
    v = (k * 131 + field.index * 17 + np.arange(count, dtype=np.int64)) % 200
    name = field.dtype_name
    if name == "u8":
        values = v
    elif name == "i8":
        values = v - 100
    elif name == "u16":
        values = v * 300
    elif name == "i16":
        values = (v - 100) * 300
    elif name == "u32":
        values = v * 20_000_000
    elif name == "i32":
        values = (v - 100) * 20_000_000
    elif name == "u64":
        values = v.astype(np.uint64) * np.uint64(10**16)
    elif name == "i64":
        values = (v - 100) * 10**16
    else:  # f16, f32, f64: multiples of 1/8, exact in every float width
        values = (v - 100) / 8.0
    return values.astype(field.dtype)


def describe_fields(ring):
    for f in ring.fields:
        print(f.describe(), flush=True)


# ---------------------------------------------------------------- consumer --

def register_consumer(ring, pid, start):
    """Consumer table: the first free entry, by load-check-store (no other
    consumer may be registering now). Returns the entry's index."""
    for i in range(CONSUMER_CAPACITY):
        entry = CONSUMER_TABLE + CONSUMER_ENTRY_BYTES * i
        if ring.load64(entry) == 0:
            ring.store64(entry, process_word(pid))                # one store: pid and start tag together
            ring.store64(entry + 8, start)                        # informational
            ring.atomic_add32(H_CONSUMERS_EVER, 1)
            ring.atomic_add32(H_CONSUMER_CHANGES, 1)
            wake_producers(ring)                                  # one blocked before any consumer watches us now
            return i
    raise RuntimeError("the consumer table is full")


def wake_producers(ring):
    """Consumer table: bump every lane's spaceSequence and wake its sleepers
    (after registering and after leaving), so blocked producers re-check
    which consumers they depend on."""
    for lane in range(ring.lanes):
        ring.notify(ring.lane(lane) + L_SPACE_SEQUENCE)


def read(ring, lane, start_k, count, timeout):
    if not 0 <= lane < ring.lanes:
        raise RuntimeError("lane %d does not exist" % lane)
    pid = os.getpid()
    entry = register_consumer(ring, pid, start_time(pid))
    entry_offset = CONSUMER_TABLE + CONSUMER_ENTRY_BYTES * entry
    holder = process_word(pid)                                    # claims each slot it takes
    S, L = ring.slots, ring.lane(lane)
    intact = 0
    try:
        for i in range(count):
            k = start_k + i
            deadline = time.monotonic() + timeout
            # Take the item at tail: wait until it is published (sequence == t + 1).
            while True:
                t = ring.load64(L + L_TAIL)                       # acquire
                slot = ring.slot(lane, t)
                if ring.load64(slot + S_SEQUENCE) == t + 1:      # acquire: payload visible
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("no item at lane %d position %d within %gs" % (lane, t, timeout))
                time.sleep(0.0002)
            # Claim, then advance (both CASes, uncontested: sole consumer). The claim is
            # one store, pid and start tag together. A held slot was claimed by another
            # consumer, or left by one that died; adopting it is beyond this script.
            if ring.load64(slot + S_HOLDER) != 0:
                raise RuntimeError("lane %d position %d is held by another consumer" % (lane, t))
            ring.store64(slot + S_HOLDER, holder)
            ring.store64(L + L_TAIL, t + 1)
            ring.notify(H_DATA_SEQUENCE)                          # consumers waiting for this claim
            good = True
            for f in ring.fields:
                rows = ring.load32(slot + S_ROWS + 4 * f.index)
                if rows > f.max_rows:
                    raise FormatError("corrupt: field %s holds %d rows, more than %d" % (f.name, rows, f.max_rows))
                if rows != rows_of(f, k):
                    print("item %d field %s: %d rows, expected %d" % (k, f.name, rows, rows_of(f, k)))
                    good = False
                    continue
                got = ring.field_view(slot, f, rows)
                want = pattern(f, k, rows)
                if not np.array_equal(got, want):
                    bad = int(np.flatnonzero(got != want)[0])
                    print("item %d field %s scalar %d: %r, expected %r" % (k, f.name, bad, got[bad], want[bad]))
                    good = False
                del got
            intact += good
            # Release: sequence = p + S (release), then holder 0, then wake the
            # lane's producer and the consumers.
            ring.store64(slot + S_SEQUENCE, t + S)
            ring.store64(slot + S_HOLDER, 0)
            ring.notify(L + L_SPACE_SEQUENCE)
            ring.notify(H_DATA_SEQUENCE)
    finally:
        ring.store64(entry_offset + 8, 0)                         # leave: startTime, then the process word
        ring.store64(entry_offset, 0)
        ring.atomic_add32(H_CONSUMER_CHANGES, 1)
        wake_producers(ring)                                      # producers on full lanes re-check who is left
    print("read %d intact %d" % (count, intact), flush=True)
    return intact == count


# ---------------------------------------------------------------- producer --

def claim_lane(ring, requested, pid):
    """A free lane (owner word 0), by load-check-store: no other producer may be
    claiming now. Returns (lane, head)."""
    candidates = [requested] if requested is not None else range(ring.lanes)
    for lane in candidates:
        L = ring.lane(lane)
        if ring.load64(L + L_OWNER) != 0:                        # owned, or finished
            continue
        ring.store64(L + L_OWNER, process_word(pid))             # one store: pid and start tag together
        ring.store64(L + L_OWNER_START, start_time(pid))         # informational
        ring.store64(L + L_CLAIMED_AT, time.monotonic_ns())      # CLOCK_MONOTONIC on Linux
        # Recover the head: a dead predecessor may have published without storing it.
        h = ring.load64(L + L_HEAD)
        s = ring.load64(ring.slot(lane, h) + S_SEQUENCE)
        if s == h + 1 or s == h + ring.slots:
            h += 1
            ring.store64(L + L_HEAD, h)
        return lane, h
    raise RuntimeError("no free lane among %r" % list(candidates))


def produce(ring, requested, start_k, count, timeout, finish=False):
    pid = os.getpid()
    lane, head = claim_lane(ring, requested, pid)
    L = ring.lane(lane)
    print("claimed lane %d" % lane, flush=True)
    try:
        epoch = ring.load64(H_EPOCH)
        for k in range(start_k, start_k + count):
            p, slot = head, ring.slot(lane, head)
            deadline = time.monotonic() + timeout
            while ring.load64(slot + S_SEQUENCE) != p:               # acquire: wait for a free slot
                if ring.load64(H_EPOCH) != epoch:
                    raise RuntimeError("the ring was reset")
                if time.monotonic() > deadline:
                    raise RuntimeError("lane %d stayed full for %gs" % (lane, timeout))
                time.sleep(0.0002)
            for f in ring.fields:                                    # plain stores
                rows = rows_of(f, k)
                ring.store32(slot + S_ROWS + 4 * f.index, rows)
                view = ring.field_view(slot, f, rows)
                view[:] = pattern(f, k, rows)
                del view
            if ring.load64(H_EPOCH) != epoch:
                raise RuntimeError("the ring was reset")
            ring.store64(slot + S_SEQUENCE, p + 1)                   # publish (release): the commit point
            head = p + 1
            ring.store64(L + L_HEAD, head)                           # release
            ring.notify(H_DATA_SEQUENCE)
        if finish:
            # The end of this lane's stream: set the finished bit (release), then wake consumers.
            ring.store64(L + L_OWNER, process_word(pid) | FINISHED_BIT)
            ring.notify(H_DATA_SEQUENCE)
    finally:
        if not finish:
            ring.store64(L + L_OWNER_START, 0)                       # release the lane
            ring.store64(L + L_OWNER, 0)
    print("produced %d" % count, flush=True)
    return True


# -------------------------------------------------------------------- main --

def main(argv):
    if platform.machine() not in ("x86_64", "AMD64"):
        raise RuntimeError("this peer relies on x86-64 memory ordering (it runs on %s)" % platform.machine())
    if not argv or argv[0] not in ("check", "read", "produce"):
        raise RuntimeError("usage: format_peer.py check|read|produce --name NAME [options]")
    command, options = argv[0], {}
    rest = argv[1:]
    for i in range(0, len(rest), 2):
        if not rest[i].startswith("--") or i + 1 >= len(rest):
            raise RuntimeError("bad option %r" % rest[i])
        options[rest[i][2:]] = rest[i + 1]
    ring = Ring(options["name"])
    try:
        describe_fields(ring)
        timeout = float(options.get("timeout", "30"))
        if command == "check":
            print("valid lanes %d slots %d" % (ring.lanes, ring.slots), flush=True)
            return True
        start_k, count = int(options.get("start", "0")), int(options.get("count", "0"))
        if command == "read":
            return read(ring, int(options.get("lane", "0")), start_k, count, timeout)
        lane = int(options["lane"]) if "lane" in options else None
        return produce(ring, lane, start_k, count, timeout, finish=options.get("finish", "0") == "1")
    finally:
        ring.close()


if __name__ == "__main__":
    try:
        sys.exit(0 if main(sys.argv[1:]) else 1)
    except (FormatError, RuntimeError, OSError, KeyError, ValueError) as error:
        print("format_peer: %s" % error, file=sys.stderr)
        sys.exit(2)

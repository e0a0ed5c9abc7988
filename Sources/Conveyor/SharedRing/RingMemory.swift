import Synchronization

/// The ring's one room for pointer code: typed addresses of the words of a
/// mapped segment, at the offsets `RingLayout` defines. Only `RingProtocol`
/// (an extension of this type) loads, stores, CASes or futex-waits on these
/// words; payload and row counts are plain memory ordered by the slot
/// sequence (written before its release store, read after its acquire load).
///
/// It holds only plain values (no arrays, nothing reference-counted), so
/// copying it on the hot paths costs nothing.
struct RingMemory: @unchecked Sendable {
    // @unchecked: `base` addresses a shared mapping and `fields` a table that
    // both outlive this value (their owner, SharedRing, is retained by
    // everyone holding a RingMemory), and the shared words that several
    // parties write are only touched atomically.
    let base: UnsafeMutableRawPointer
    let geometry: RingLayout.Geometry
    /// The per-field geometry table (owned by SharedRing).
    let fields: UnsafePointer<RingLayout.FieldGeometry>
    let fieldCount: Int
    /// Set to 1 when another process shrank the segment's file under this
    /// mapping (`SegmentGuard`, owned by the segment): the ring now reads zeros.
    let truncatedFlag: UnsafeMutablePointer<UInt32>
    /// `RingTestHook.stopAfterClaim`, copied here so the take tests a plain field.
    let stopAfterClaim: Int = RingTestHook.stopAfterClaim

    /// Whether the segment was truncated under this process.
    var isTruncated: Bool {
        UnsafeMutableRawPointer(truncatedFlag).assumingMemoryBound(to: Atomic<UInt32>.self)
            .pointee.load(ordering: .acquiring) != 0
    }

    var laneCount: Int { geometry.laneCount }
    var slotsPerLane: Int { geometry.slotsPerLane }

    @inline(__always)
    func word64(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    @inline(__always)
    func word32(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt32>> {
        (base + offset).assumingMemoryBound(to: Atomic<UInt32>.self)
    }

    // MARK: Ring header

    /// Bumped by every reset.
    var epoch: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Header.epoch) }
    /// Ordered mode: the number of the next item in round-robin order.
    var orderTicket: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Header.orderTicket) }
    /// How many consumers ever attached.
    var consumersEver: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Header.consumersEver) }
    /// Bumped by every consumer that registers or leaves.
    var consumerChanges: UnsafeMutablePointer<Atomic<UInt32>> { word32(RingLayout.Header.consumerChanges) }
    /// Consumers sleep here until a producer commits.
    var dataEvent: FutexEvent {
        FutexEvent(sequence: base + RingLayout.Header.dataSequence,
                   sleepers: base + RingLayout.Header.dataSleepers, shared: true)
    }

    /// The creator's pid and /proc start time, as written at creation (immutable).
    var creator: (pid: Int32, startTime: UInt64) { RingLayout.creator(UnsafeRawPointer(base)) }

    /// Consumer table entry `index`: the consumer's process word (`PeerIdentity`; 0 = free).
    func consumerIdentity(_ index: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        word64(RingLayout.consumerOffset(index) + RingLayout.ConsumerEntry.identity)
    }

    func consumerStartTime(_ index: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        word64(RingLayout.consumerOffset(index) + RingLayout.ConsumerEntry.startTime)
    }

    // MARK: Lanes and slots

    @inline(__always)
    func lane(_ lane: Int) -> LaneWords {
        LaneWords(start: base + geometry.laneOffset(lane))
    }

    @inline(__always)
    func slot(lane: Int, position: UInt64) -> SlotWords {
        SlotWords(start: base + geometry.slotOffset(lane: lane, position: position), fields: fields, fieldCount: fieldCount)
    }

    /// Maps every page of `lane`'s slots writable in this process now (best
    /// effort), so that its producer's first lap takes no page fault per
    /// page: one call instead of a fault for each 4 KiB of every slot.
    func prefaultSlots(ofLane lane: Int) {
        let bytes = geometry.slotBytes(ofLane: lane)
        SystemCalls.prefaultWritable(base + bytes.lowerBound, count: bytes.count)
    }
}

/// The words of one lane header.
struct LaneWords {
    let start: UnsafeMutableRawPointer

    private func word64(_ offset: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        (start + offset).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// The owner word: the owning producer's `PeerIdentity` word, with
    /// `PeerIdentity.finishedBit` once it finished; 0 when the lane is free.
    /// Claimed, finished and freed by CAS.
    var owner: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Lane.owner) }
    var ownerStartTime: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Lane.ownerStartTime) }
    var head: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Lane.head) }
    var claimedAt: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Lane.claimedAt) }
    var tail: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Lane.tail) }
    var orderBase: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Lane.base) }
    var discarded: UnsafeMutablePointer<Atomic<UInt64>> { word64(RingLayout.Lane.discarded) }
    /// The producer sleeps here until a consumer frees a slot.
    var spaceEvent: FutexEvent {
        FutexEvent(sequence: start + RingLayout.Lane.spaceSequence,
                   sleepers: start + RingLayout.Lane.spaceSleepers, shared: true)
    }
}

/// One slot: its header words and its payload.
struct SlotWords {
    let start: UnsafeMutableRawPointer
    let fields: UnsafePointer<RingLayout.FieldGeometry>
    let fieldCount: Int

    /// The slot's state word (see FORMAT.md: free for p = p, published = p + 1, released = p + S).
    var sequence: UnsafeMutablePointer<Atomic<UInt64>> {
        start.assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// The lease holder's process word (see `PeerIdentity`), or 0.
    var holder: UnsafeMutablePointer<Atomic<UInt64>> {
        (start + RingLayout.Slot.holder).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// The stored row count of `field`, unchecked: callers validate it.
    func storedRows(_ field: Int) -> UInt32 {
        UInt32(littleEndian: start.load(fromByteOffset: RingLayout.Slot.rows + 4 * field, as: UInt32.self))
    }

    func setStoredRows(_ rows: UInt32, _ field: Int) {
        start.storeBytes(of: rows.littleEndian, toByteOffset: RingLayout.Slot.rows + 4 * field, as: UInt32.self)
    }

    /// The first byte of `field`'s data in this slot.
    func fieldStart(_ field: Int) -> UnsafeMutableRawPointer {
        start + fields[field].offsetInSlot
    }

    /// Field `field`'s geometry, or `.invalidArgument` for an index out of range.
    func field(_ field: Int) throws(ConveyorError) -> RingLayout.FieldGeometry {
        guard field >= 0, field < fieldCount else {
            throw .invalidArgument("field index \(field) is out of range; the ring has \(fieldCount) fields")
        }
        return fields[field]
    }

    /// Field `field`'s geometry, checked to hold `T`'s dtype.
    func field<T: DTypeScalar>(_ field: Int, as type: T.Type, schema: @autoclosure () -> Schema)
        throws(ConveyorError) -> RingLayout.FieldGeometry {
        let geometry = try self.field(field)
        guard geometry.dtype == T.dtype else {
            throw .invalidArgument("field '\(schema().fields[field].name)' holds \(geometry.dtype), not \(T.dtype) (\(T.self))")
        }
        return geometry
    }
}

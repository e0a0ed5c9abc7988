/// A producer attached to one lane of a `SharedRing`: it reserves a slot,
/// writes the item in place and commits it. Each producer owns its lane
/// until it is released (or its process dies), so no other process ever
/// writes there and nothing on the hot path takes a lock or a CAS.
///
/// ```swift
/// let producer = try ring.producer()
/// var writer = try producer.reserve(timeout: .seconds(5))
/// try writer.withMutableSpan(of: "image", as: Float.self) { span in
///     for i in span.indices { span[i] = 1 }
/// }
/// try writer.setRows(1, of: "label")
/// try writer.commit()
/// // or, copying from arrays:
/// try producer.put([RingColumn(pixels), RingColumn([label])], timeout: .seconds(5))
/// ```
///
/// A producer is used by one thread at a time.
public final class RingProducer {
    /// The ring this producer writes to.
    public let ring: SharedRing
    /// The lane it owns.
    public let lane: Int
    /// How long `reserve` keeps re-checking a full lane (yielding the
    /// processor between checks, so the consumer it waits for can run) before
    /// it sleeps on the futex.
    public var spinTime: Duration = .microseconds(50)

    private let memory: RingMemory
    private let ownPID: Int32
    /// The next position to write; the lane header's `head` mirrors it.
    private var head: UInt64
    /// The ring's reset epoch this producer last saw.
    private var epoch: UInt64
    /// The position of the outstanding writer, if any.
    private var reservedPosition: UInt64?
    /// When no live consumer was first seen while blocked (monotonic ns).
    private var consumerMissingSince: Int64?
    private var lastConsumerCheck: Int64 = 0

    /// How long a producer blocked on a full lane waits, with no consumer
    /// attached and alive, before it gives up with `.consumerGone`.
    public static let consumerGrace: Duration = .milliseconds(500)

    init(ring: SharedRing, requestedLane: Int?) throws(ConveyorError) {
        self.ring = ring
        self.memory = ring.memory
        self.ownPID = SystemCalls.processID()
        let startTime = PeerLiveness.ownStartTime
        let lane = try RingProducer.claimLane(memory, requested: requestedLane, pid: ownPID)
        let words = memory.lane(lane)
        words.ownerStartTime.pointee.store(startTime, ordering: .releasing)
        words.claimedAt.pointee.store(UInt64(SystemCalls.monotonicNanoseconds()), ordering: .relaxed)
        // Recover the head: a predecessor may have died between publishing a slot and storing head.
        var head = words.head.pointee.load(ordering: .acquiring)
        let sequence = memory.slot(lane: lane, position: head).sequence.pointee.load(ordering: .acquiring)
        if sequence == head &+ 1 || sequence == head &+ UInt64(memory.slotsPerLane) {
            head &+= 1
            words.head.pointee.store(head, ordering: .releasing)
        }
        self.lane = lane
        self.head = head
        self.epoch = memory.epoch.pointee.load(ordering: .acquiring)
    }

    private static func claimLane(_ memory: RingMemory, requested: Int?, pid: Int32) throws(ConveyorError) -> Int {
        let lanes = memory.laneCount
        if let requested {
            guard (0..<lanes).contains(requested) else {
                throw .invalidArgument("lane \(requested) does not exist; the ring has lanes 0...\(lanes - 1)")
            }
        }
        let candidates = requested.map { [$0] } ?? Array(0..<lanes)
        // A free lane first, then one whose producer is dead.
        for lane in candidates {
            if memory.lane(lane).ownerPID.pointee.compareExchange(
                expected: 0, desired: UInt32(bitPattern: pid), ordering: .acquiringAndReleasing).exchanged {
                return lane
            }
        }
        for lane in candidates {
            let words = memory.lane(lane)
            let owner = words.ownerPID.pointee.load(ordering: .acquiring)
            let owned = PeerLiveness.of(pid: Int32(bitPattern: owner),
                                        startTime: words.ownerStartTime.pointee.load(ordering: .acquiring))
            if owner != 0, owned == .gone, words.ownerPID.pointee.compareExchange(
                expected: owner, desired: UInt32(bitPattern: pid), ordering: .acquiringAndReleasing).exchanged {
                words.ownerStartTime.pointee.store(0, ordering: .releasing)
                return lane
            }
        }
        if let requested {
            let owner = memory.lane(requested).ownerPID.pointee.load(ordering: .relaxed)
            throw .unavailable("lane \(requested) already has a producer (pid \(owner)); pick another lane or none")
        }
        throw .unavailable("all \(lanes) lanes of the ring have a live producer; create the ring with more lanes")
    }

    deinit {
        let words = memory.lane(lane)
        words.ownerStartTime.pointee.store(0, ordering: .relaxed)
        _ = words.ownerPID.pointee.compareExchange(
            expected: UInt32(bitPattern: ownPID), desired: 0, ordering: .acquiringAndReleasing)
    }

    /// Reserves the lane's next slot and returns a writer into it, waiting
    /// (without polling) while the lane is full, for at most `timeout`
    /// (nil: no limit). The writer's fields start at their maximum row counts.
    ///
    /// Throws `.timedOut`, `.ringReset` when a reset happened (the next
    /// reserve works), `.consumerGone` when consumers had attached and none
    /// is left, or `.invalidArgument` when a writer is still outstanding.
    public func reserve(timeout: Duration?) throws(ConveyorError) -> RingWriter {
        guard reservedPosition == nil else {
            throw .invalidArgument("this producer already has a reserved slot; commit or discard it first")
        }
        let position = head
        let slot = memory.slot(lane: lane, position: position)
        let ready = { [memory] () -> WaitOutcome? in
            if memory.epoch.pointee.load(ordering: .acquiring) != self.epoch { return .failed(.ringReset) }
            return slot.sequence.pointee.load(ordering: .acquiring) == position ? .ready : nil
        }
        var outcome = ready() ?? spinBriefly(nanoseconds: spinTime.conveyorNanoseconds, yieldEvery: 1, ready)
        if outcome == nil {
            outcome = memory.lane(lane).spaceEvent.wait(
                deadline: Deadline.after(timeout), backoff: .none, sleepSlice: 20_000_000) { () -> WaitOutcome? in
                ready() ?? checkConsumers().map(WaitOutcome.failed)
            }
        }
        switch outcome {
        case nil:
            throw .timedOut(operation: "reserving a slot on lane \(lane) (the lane is full)", after: timeout ?? .zero)
        case let .failed(error)?:
            if case .ringReset = error { epoch = memory.epoch.pointee.load(ordering: .acquiring) }
            throw error
        case .ready?:
            break
        }
        consumerMissingSince = nil
        for field in 0..<memory.fieldCount {
            slot.setStoredRows(UInt32(memory.fields[field].maxRows), field)
        }
        reservedPosition = position
        return RingWriter(producer: self, slot: slot, position: position)
    }

    /// Copies one item from `columns` (one per field, in schema order) into
    /// the next slot and commits it. A column longer than its field's
    /// maximum is `.itemTooLarge` and nothing is published.
    public func put(_ columns: [RingColumn], timeout: Duration?) throws(ConveyorError) {
        let fields = ring.schema.fields
        guard columns.count == fields.count else {
            throw .invalidArgument("put needs \(fields.count) columns (one per field), got \(columns.count)")
        }
        var rows: [Int] = []
        for (field, column) in zip(fields, columns) {
            rows.append(try column.rows(for: field))
        }
        var writer = try reserve(timeout: timeout)
        for index in fields.indices {
            try writer.setRows(rows[index], of: index)
            writer.copy(columns[index], into: index)
        }
        try writer.commit()
    }

    private enum WaitOutcome {
        case ready
        case failed(ConveyorError)
    }

    /// The lane's items committed so far (its head position).
    public var committed: UInt64 { head }

    // MARK: Called by RingWriter

    func commit(position: UInt64, slot: SlotWords) throws(ConveyorError) {
        guard reservedPosition == position else { return }
        reservedPosition = nil
        let current = memory.epoch.pointee.load(ordering: .acquiring)
        if current != epoch {
            epoch = current
            throw .ringReset
        }
        slot.sequence.pointee.store(position &+ 1, ordering: .releasing)
        head = position &+ 1
        memory.lane(lane).head.pointee.store(head, ordering: .releasing)
        memory.dataEvent.notifyAll()
    }

    func abandon(position: UInt64) {
        if reservedPosition == position { reservedPosition = nil }
    }

    /// While blocked: `.consumerGone` once consumers have attached and none
    /// has been alive for `consumerGrace`. Looks at most every 50 ms.
    private func checkConsumers() -> ConveyorError? {
        let now = SystemCalls.monotonicNanoseconds()
        guard now - lastConsumerCheck >= 50_000_000 else { return nil }
        lastConsumerCheck = now
        guard memory.consumersEver.pointee.load(ordering: .acquiring) > 0 else { return nil }
        for index in 0..<RingLayout.consumerCapacity {
            let pid = Int32(bitPattern: memory.consumerPID(index).pointee.load(ordering: .acquiring))
            if pid != 0, PeerLiveness.of(pid: pid, startTime: memory.consumerStartTime(index).pointee.load(ordering: .acquiring)) != .gone {
                consumerMissingSince = nil
                return nil
            }
        }
        let since = consumerMissingSince ?? now
        consumerMissingSince = since
        guard now - since >= RingProducer.consumerGrace.conveyorNanoseconds else { return nil }
        return .consumerGone("lane \(lane) is full and every consumer that attached has detached or died")
    }
}

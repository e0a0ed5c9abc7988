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
    /// This process, as the lane's owner word names it.
    private let identity: PeerIdentity
    /// The next position to write; the lane header's `head` mirrors it.
    private var head: UInt64
    /// The ring's reset epoch this producer last saw.
    private var epoch: UInt64
    /// The position of the outstanding writer, if any.
    private var reservedPosition: UInt64?
    /// Set by `finish()`: the lane is closed and stays claimed as finished.
    private var finished = false
    /// When no live consumer was first seen while blocked (monotonic ns).
    private var consumerMissingSince: Int64?
    /// When this producer first blocked with no consumer ever attached (monotonic ns).
    private var firstConsumerAwaitedSince: Int64?
    /// The processes a blocked reserve depends on (consumers, or the ring's
    /// creator before any consumer attached), watched from its first wait on.
    private var watched: [UInt64: PeerIdentity.Watching] = [:]
    /// When the last check found a live consumer: the watcher's alarm and
    /// the ring's `consumerChanges` then. While both stay the same, no
    /// consumer can have died or left, and the check is skipped.
    private var liveConsumersSeen: (alarm: UInt32, changes: UInt32)?
    /// The last slot holder `signalDeadHolder` looked up: the position it
    /// holds, its process word and the watcher's alarm then.
    private var holderChecked: (position: UInt64, word: UInt64, alarm: UInt32)?

    /// How long a producer blocked on a full lane waits, with no consumer
    /// attached and alive (after consumers had attached), before it gives up with `.consumerGone`.
    static let consumerGrace: Duration = .milliseconds(500)

    /// How long a producer blocked on a full lane waits for the ring's first
    /// consumer before it gives up with `.consumerGone` (nil: as long as the
    /// ring's creator lives). It gives up at once when the ring's creator
    /// has ended and no consumer ever attached.
    public var firstConsumerTimeout: Duration? = .seconds(60)

    init(ring: SharedRing, requestedLane: Int?) throws(ConveyorError) {
        guard !ring.memory.isTruncated else { throw ring.truncationError }
        self.ring = ring
        self.memory = ring.memory
        let startTime = PeerLiveness.ownStartTime
        let identity = PeerIdentity(pid: SystemCalls.processID(), startTime: startTime)
        // A lane asked for by number is mapped before it is claimed (setting up, like attaching).
        if let requestedLane, (0..<memory.laneCount).contains(requestedLane) { memory.prefaultSlots(ofLane: requestedLane) }
        let lane = try RingProducer.claimLane(memory, requested: requestedLane, identity: identity)
        if requestedLane == nil { memory.prefaultSlots(ofLane: lane) }
        // Recovers the head (a predecessor may have died between publishing a slot and storing head)
        // and wakes waiting consumers: they watch the lane's new owner from now on.
        let (head, epoch) = memory.settleClaim(of: lane, startTime: startTime)
        self.identity = identity
        self.lane = lane
        self.head = head
        self.epoch = epoch
    }

    private static func claimLane(
        _ memory: RingMemory, requested: Int?, identity: PeerIdentity
    ) throws(ConveyorError) -> Int {
        let lanes = memory.laneCount
        if let requested {
            guard (0..<lanes).contains(requested) else {
                throw .invalidArgument("lane \(requested) does not exist; the ring has lanes 0...\(lanes - 1)")
            }
        }
        let candidates = requested.map { [$0] } ?? Array(0..<lanes)
        // A free lane first, then one whose producer is dead: either way one CAS of the owner word.
        for takingOver in [false, true] {
            for lane in candidates where memory.claimLane(lane, by: identity, takingOver: takingOver) {
                return lane
            }
        }
        if let requested {
            let state = memory.owner(of: requested)
            if case .finished = state {
                throw .unavailable("lane \(requested) is finished (its producer called finish()); "
                    + "reset the ring to reopen it, or pick another lane")
            }
            let owner: Int32 = if case let .owned(identity) = state { identity.pid } else { 0 }
            throw .unavailable("lane \(requested) already has a producer (pid \(owner)); pick another lane or none")
        }
        throw .unavailable("all \(lanes) lanes of the ring have a live or finished producer; "
            + "create the ring with more lanes, or reset it to reopen finished ones")
    }

    deinit {
        guard !finished else { return }
        memory.releaseLane(lane, by: identity)
    }

    /// Ends this producer's stream: every item it committed will still be
    /// delivered, and consumers then learn the lane is finished instead of
    /// waiting for more. The lane stays claimed as finished (no producer
    /// can claim it) until the ring is reset. Once every lane of the ring
    /// is finished and drained, consumers' `nextItem` returns nil (and
    /// `next` throws `.closed`). Later `reserve` calls throw `.closed`.
    ///
    /// Throws `.invalidArgument` while a writer is outstanding, and
    /// `.ringReset` when a reset reopened the lane (the ring was emptied).
    public func finish() throws(ConveyorError) {
        guard !finished else { return }
        guard reservedPosition == nil else {
            throw .invalidArgument("this producer has a reserved slot; commit or discard it before finishing")
        }
        guard memory.finishLane(lane, by: identity) else {
            throw .unavailable("lane \(lane) is no longer this producer's (freed by another process)")
        }
        finished = true
    }

    /// Whether `finish()` was called.
    public var isFinished: Bool { finished }

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
        guard !finished else { throw .closed("lane \(lane) of the ring (its producer finished)") }
        let position = head
        let slot = memory.slot(lane: lane, position: position)
        var outcome = readiness(of: slot, at: position)
        if outcome == nil {
            let ready = { self.readiness(of: slot, at: position) }
            var backoff = Backoff(spinNanoseconds: spinTime.conveyorNanoseconds, yields: 0,
                                  rule: .pauseEachCheck(yieldEvery: 1))
            outcome = backoff.retry(ready)
        }
        if outcome == nil {
            let watcher = PeerWatcher.shared
            var sleepLimit: Int64?
            outcome = memory.waitForSpace(
                lane: lane, deadline: Deadline.after(timeout), watcher: watcher, sleepLimit: { sleepLimit }
            ) { () -> WaitOutcome? in
                if memory.isTruncated { return .failed(ring.truncationError) }
                if let outcome = readiness(of: slot, at: position) { return outcome }
                switch checkConsumers(watcher: watcher) {
                case let .gone(error): return .failed(error)
                case let .recheckAfter(nanoseconds): sleepLimit = nanoseconds
                }
                return nil
            }
        }
        switch outcome {
        case nil:
            throw .timedOut(operation: "reserving a slot on lane \(lane) (the lane is full)", after: timeout ?? .zero)
        case let .failed(error)?:
            if case .ringReset = error { epoch = memory.currentEpoch }
            throw error
        case .ready?:
            break
        }
        firstConsumerAwaitedSince = nil
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

    /// Whether the slot of `position` can be written now (*Producing position p*, step 1).
    @inline(__always)
    private func readiness(of slot: SlotWords, at position: UInt64) -> WaitOutcome? {
        if memory.currentEpoch != epoch { return .failed(.ringReset) }
        return memory.isFree(slot, for: position) ? .ready : nil
    }

    /// The lane's items committed so far (its head position).
    public var committed: UInt64 { head }

    // MARK: Called by RingWriter

    func commit(position: UInt64, slot: SlotWords) throws(ConveyorError) {
        guard reservedPosition == position else { return }
        reservedPosition = nil
        // The item may have been written onto zeros (the file shrank mid-copy): it is lost, say so.
        if memory.isTruncated { throw ring.truncationError }
        let current = memory.currentEpoch
        if current != epoch {
            epoch = current
            throw .ringReset
        }
        head = memory.publish(slot, lane: lane, position: position)
    }

    func abandon(position: UInt64) {
        if reservedPosition == position { reservedPosition = nil }
    }

    private enum ConsumerCheck {
        /// Give up with this error.
        case gone(ConveyorError)
        /// Wait on; sleep at most this long before checking again (nil: until woken).
        case recheckAfter(Int64?)
    }

    /// While blocked on a full lane: whether the consumers that would free
    /// it are gone. With consumers attached, their processes are watched
    /// (no timer: a death wakes the wait). With none left after some had
    /// attached, `.consumerGone` after `consumerGrace`. With none ever
    /// attached, `.consumerGone` once the ring's creator has ended or
    /// `firstConsumerTimeout` has passed.
    private func checkConsumers(watcher: PeerWatcher?) -> ConsumerCheck {
        // Without a watcher, deaths are noticed by re-checking every 50 ms.
        let poll: Int64? = watcher == nil ? 50_000_000 : nil
        let alarm = watcher?.alarmValue ?? 0
        let changes = memory.consumerTableChanges
        if watcher != nil, let seen = liveConsumersSeen, seen.alarm == alarm, seen.changes == changes {
            signalDeadHolder(alarm: alarm)
            return .recheckAfter(nil)
        }
        liveConsumersSeen = nil
        let now = SystemCalls.monotonicNanoseconds()
        guard memory.consumersEverAttached > 0 else {
            let creator = memory.creator
            if watching([PeerIdentity(pid: creator.pid, startTime: creator.startTime)]).allSatisfy(\.ended) {
                return .gone(.consumerGone("lane \(lane) is full, no consumer ever attached, and the ring's creator "
                    + "(pid \(creator.pid)) has ended"))
            }
            guard let limit = firstConsumerTimeout?.conveyorNanoseconds else { return .recheckAfter(poll) }
            let since = firstConsumerAwaitedSince ?? now
            firstConsumerAwaitedSince = since
            let left = limit - (now - since)
            if left <= 0 {
                return .gone(.consumerGone("lane \(lane) is full and no consumer attached within "
                    + "\(firstConsumerTimeout!.conveyorFormatted) (RingProducer.firstConsumerTimeout)"))
            }
            return .recheckAfter(min(left, poll ?? left))
        }
        if watching(memory.consumers).contains(where: { !$0.ended }) {
            consumerMissingSince = nil
            // After the watches are set up: a holder alive now wakes this wait when it dies.
            signalDeadHolder(alarm: watcher == nil ? nil : alarm)
            liveConsumersSeen = (alarm, changes)
            return .recheckAfter(poll)
        }
        let since = consumerMissingSince ?? now
        consumerMissingSince = since
        let left = RingProducer.consumerGrace.conveyorNanoseconds - (now - since)
        guard left > 0 else {
            return .gone(.consumerGone("lane \(lane) is full and every consumer that attached has detached or died"))
        }
        return .recheckAfter(left)
    }

    /// Whether the slot this blocked producer waits for is held by a consumer
    /// that died before releasing it. If so, tells the live consumers to
    /// adopt it: adds 1 to `consumerChanges` and wakes them on `dataSequence`
    /// (they scan for dead holders when `consumerChanges` moves).
    /// The holder is looked up in /proc once per (position, holder, watcher
    /// alarm): a holder's death moves the alarm, as it is a watched consumer.
    private func signalDeadHolder(alarm: UInt32?) {
        let slots = UInt64(memory.slotsPerLane)
        guard head >= slots else { return }
        let held = head - slots
        guard let holder = memory.unreleasedHolder(lane: lane, position: held) else { return }
        if let alarm {
            if let checked = holderChecked, checked == (held, holder.word, alarm) { return }
            holderChecked = (held, holder.word, alarm)
        }
        guard holder.hasEnded else { return }
        memory.signalDeadHolder()
    }

    /// Watches exactly `processes` (keeping the watches already held), and returns their watches.
    private func watching(_ processes: [PeerIdentity]) -> [PeerIdentity.Watching] {
        var kept: [UInt64: PeerIdentity.Watching] = [:]
        for process in processes { kept[process.word] = watched[process.word] ?? PeerIdentity.Watching(process) }
        watched = kept
        return Array(kept.values)
    }
}

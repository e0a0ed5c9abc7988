/// A consumer attached to a `SharedRing`: `next` leases the next item, which
/// is read in place and goes back to its producer when the lease ends.
/// Several consumers (in one process or many) may share a ring; each item
/// goes to exactly one of them.
///
/// ```swift
/// let consumer = try ring.consumer(order: .ordered)
/// while true {
///     let lease = try consumer.next(timeout: .seconds(10), coldBoot: true)
///     let label = try lease.withSpan(of: "label", as: Int32.self) { $0[0] }
///     // ... use the item; the lease releases the slot when it goes out of scope
/// }
/// ```
///
/// When a producer dies, `next` first delivers everything it committed and
/// then throws `.producerDied` naming its pid, lane and (when this process
/// spawned it) how it died; its lane can then be claimed by a new producer.
/// When every producer called `finish()`, `nextItem` returns nil after the
/// last item (`next` throws `.closed`). A stopped producer makes `next` time
/// out with `.producerStalled`, a running but silent one with `.timedOut`.
/// Waiting never polls: deaths wake the wait (see `PeerWatcher`).
/// A consumer is used by one thread at a time.
public final class RingConsumer {
    /// The order in which items are taken: the loader's `Delivery`.
    public typealias Order = Delivery

    /// The ring this consumer reads.
    public let ring: SharedRing
    /// The order it reads in.
    public let order: Order
    /// The longest `next` keeps re-checking an empty ring before it sleeps
    /// on the futex. The spin adapts between 1/64 of this and this: it
    /// doubles after a wait that spinning ended, and halves after one that
    /// had to sleep. Items that stream (short gaps) are then handed over in
    /// about a microsecond with no wake-up, and a consumer whose items come
    /// at long gaps sleeps at once, which on a busy machine gets it woken
    /// sooner than a spinner gets the processor back (measured here under
    /// load: p99 ~30 µs sleeping against ~600 µs spinning). Zero: never spin.
    public var spinTime: Duration = .milliseconds(2) {
        didSet { spinBudget = spinTime.conveyorNanoseconds }
    }
    private var spinBudget: Int64 = 2_000_000

    private let memory: RingMemory
    private let entry: Int
    private let identity: PeerIdentity
    /// The watch on each lane's owner, with the owner word it was made for.
    private var watches: [(word: UInt64, watch: PeerIdentity.Watching)?]
    private var nextLane = 0
    private var received: UInt64 = 0
    private var lastProducerCheck: Int64 = 0
    private var calls: UInt64 = 0

    /// How often producers' liveness is checked while items flow.
    static let producerCheckInterval: Int64 = 5_000_000
    /// The longest sleep between checks while waiting, where no process
    /// watcher is available (kernels without futex_waitv); with one, waits
    /// sleep until an item, a claim, a finish or a death wakes them.
    static let fallbackSleepSlice: Int64 = 10_000_000

    init(ring: SharedRing, order: Order) throws(ConveyorError) {
        guard !ring.memory.isTruncated else { throw ring.truncationError }
        self.ring = ring
        self.order = order
        self.memory = ring.memory
        self.watches = Array(repeating: nil, count: ring.laneCount)
        let startTime = PeerLiveness.ownStartTime
        self.identity = PeerIdentity(pid: SystemCalls.processID(), startTime: startTime)
        self.entry = try RingConsumer.register(memory, identity: identity, startTime: startTime)
    }

    private static func register(
        _ memory: RingMemory, identity: PeerIdentity, startTime: UInt64
    ) throws(ConveyorError) -> Int {
        for pass in 0..<2 {
            for index in 0..<RingLayout.consumerCapacity {
                let word = memory.consumerIdentity(index).pointee.load(ordering: .acquiring)
                // First pass: free entries; second: entries of consumers that died.
                if pass == 0, word != 0 { continue }
                if pass == 1, PeerIdentity(word: word).map({ $0.liveness != .gone }) ?? true { continue }
                if memory.consumerIdentity(index).pointee.compareExchange(
                    expected: word, desired: identity.word, ordering: .acquiringAndReleasing).exchanged {
                    memory.consumerStartTime(index).pointee.store(startTime, ordering: .relaxed)
                    memory.consumersEver.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
                    memory.consumerChanges.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
                    return index
                }
            }
        }
        throw .unavailable("the ring already has \(RingLayout.consumerCapacity) consumers attached; detach one first")
    }

    deinit {
        memory.consumerStartTime(entry).pointee.store(0, ordering: .relaxed)
        memory.consumerIdentity(entry).pointee.store(0, ordering: .releasing)
        memory.consumerChanges.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
        // Producers blocked on a full lane re-check who is left to free it.
        for lane in 0..<memory.laneCount { memory.lane(lane).spaceEvent.wakeAll() }
    }

    /// Leases the next item, waiting without polling for at most `timeout`
    /// (nil: no limit). With `coldBoot`, the wait for this consumer's first
    /// item ignores the timeout (start-up may be slow); later calls use it.
    ///
    /// Throws `.closed` once every lane is finished and drained (see
    /// `nextItem`, which returns nil instead), `.producerDied` (once per
    /// death, after that producer's items were all delivered),
    /// `.producerStalled` when the timeout passes while the producer waited
    /// for is stopped, `.timedOut` when it passes otherwise (the message
    /// says whether a producer is attached and running), or `.corruptSegment`
    /// for an impossible row count.
    public func next(timeout: Duration?, coldBoot: Bool = false) throws(ConveyorError) -> RingLease {
        guard let lease = try next(timeout: timeout, coldBoot: coldBoot, onlyLane: nil) else { throw finishedError(nil) }
        return lease
    }

    /// Leases the next item as `next(timeout:coldBoot:)` does, or returns
    /// nil at the end of the stream: every lane's producer called `finish()`
    /// and every item they committed was delivered. An abnormal end is
    /// still an error (`.producerDied`).
    public func nextItem(timeout: Duration?, coldBoot: Bool = false) throws(ConveyorError) -> RingLease? {
        try next(timeout: timeout, coldBoot: coldBoot, onlyLane: nil)
    }

    /// Leases the next item of lane `lane` only, waiting as `next(timeout:)`
    /// does; only that lane's producer's death is reported (the others' when
    /// their lanes are read), so a death shows in its place. For an `.unordered`
    /// consumer that decides the order itself, such as the DataLoader's
    /// process backend, which reads batch k from the lane of the worker that
    /// made it; an `.ordered` consumer throws `.invalidArgument`. Throws
    /// `.closed` once the lane is finished and drained.
    public func next(lane: Int, timeout: Duration?) throws(ConveyorError) -> RingLease {
        guard let lease = try nextItem(lane: lane, timeout: timeout) else { throw finishedError(lane) }
        return lease
    }

    /// `next(lane:timeout:)`, returning nil once the lane is finished and drained.
    public func nextItem(lane: Int, timeout: Duration?) throws(ConveyorError) -> RingLease? {
        guard order == .unordered else {
            throw .invalidArgument("next(lane:) would break an ordered consumer's round-robin; use .unordered")
        }
        guard (0..<memory.laneCount).contains(lane) else {
            throw .invalidArgument("lane \(lane) does not exist; the ring has lanes 0...\(memory.laneCount - 1)")
        }
        return try next(timeout: timeout, coldBoot: false, onlyLane: lane)
    }

    private func finishedError(_ lane: Int?) -> ConveyorError {
        .closed(lane.map { "lane \($0) of the ring (its producer finished and every item was delivered)" }
            ?? "the ring (every lane's producer finished and every item was delivered)")
    }

    private func next(timeout: Duration?, coldBoot: Bool, onlyLane: Int?) throws(ConveyorError) -> RingLease? {
        // While items flow, producers are checked every 64 calls (reading the clock costs).
        calls &+= 1
        if calls & 63 == 0, let failure = checkProducersIfDue(onlyLane: onlyLane) { throw failure }
        let claim = { () -> Claim? in
            guard let onlyLane else { return self.claim() }
            return self.claimHead(of: onlyLane).map { Claim(lane: onlyLane, position: $0) }
        }
        if let claim = claim() { return lease(claim) }
        if let claim = spinBriefly(nanoseconds: spinBudget, yieldEvery: 4, claim) {
            spinBudget = min(spinBudget * 2, spinTime.conveyorNanoseconds)
            return lease(claim)
        }
        spinBudget = max(spinBudget / 2, spinTime.conveyorNanoseconds / 64)
        let deadline = coldBoot && received == 0 ? nil : Deadline.after(timeout)
        let watcher = PeerWatcher.shared
        let sleepLimit: Int64? = watcher == nil ? RingConsumer.fallbackSleepSlice : nil
        // Each wake-up (an item, a claim, a finish, a reset or a death) re-checks everything.
        let outcome = memory.dataEvent.wait(deadline: deadline, watcher: watcher, sleepLimit: { sleepLimit }) {
            () -> WaitOutcome? in
            if memory.isTruncated { return .failed(ring.truncationError) }
            if let claim = claim() { return .claimed(claim) }
            if isFinished(onlyLane: onlyLane) { return .finished }
            return checkProducers(onlyLane: onlyLane).map(WaitOutcome.failed)
        }
        switch outcome {
        case let .claimed(claim)?:
            return lease(claim)
        case .finished?:
            return nil
        case let .failed(error)?:
            throw error
        case nil:
            if memory.isTruncated { throw ring.truncationError }
            if let failure = checkProducers(onlyLane: onlyLane) { throw failure }
            throw diagnoseTimeout(timeout ?? .zero, onlyLane: onlyLane)
        }
    }

    /// Items this consumer has leased so far.
    public var itemsReceived: UInt64 { received }

    // MARK: Claiming

    private struct Claim {
        var lane: Int
        var position: UInt64
    }

    private enum WaitOutcome {
        case claimed(Claim)
        case finished
        case failed(ConveyorError)
    }

    private func lease(_ claim: Claim) -> RingLease {
        received &+= 1
        let slot = memory.slot(lane: claim.lane, position: claim.position)
        slot.holder.pointee.store(UInt32(entry + 1), ordering: .relaxed)
        return RingLease(consumer: self, slot: slot, lane: claim.lane, position: claim.position)
    }

    @inline(__always)
    private func claim() -> Claim? {
        order == .ordered ? claimOrdered() : claimUnordered()
    }

    private func claimUnordered() -> Claim? {
        let lanes = memory.laneCount
        for step in 0..<lanes {
            var lane = nextLane + step
            if lane >= lanes { lane -= lanes }
            if let position = claimHead(of: lane) {
                nextLane = lane + 1 == lanes ? 0 : lane + 1
                return Claim(lane: lane, position: position)
            }
        }
        return nil
    }

    /// Takes the oldest published item of `lane` by advancing its tail with a CAS.
    private func claimHead(of lane: Int) -> UInt64? {
        let tail = memory.lane(lane).tail
        var position = tail.pointee.load(ordering: .acquiring)
        while true {
            let sequence = memory.slot(lane: lane, position: position).sequence.pointee.load(ordering: .acquiring)
            guard sequence == position &+ 1 else {
                // Not published yet, or another consumer moved the tail: look once more, then give up.
                let now = tail.pointee.load(ordering: .acquiring)
                if now == position { return nil }
                position = now
                continue
            }
            let (exchanged, original) = tail.pointee.compareExchange(
                expected: position, desired: position &+ 1, ordering: .acquiringAndReleasing)
            if exchanged { return position }
            position = original
        }
    }

    private func claimOrdered() -> Claim? {
        let lanes = UInt64(memory.laneCount)
        let ticket = memory.orderTicket
        // Finished lanes drop out of the rotation: their tickets are skipped.
        var skipped: UInt64 = 0
        while true {
            let number = ticket.pointee.load(ordering: .acquiring)
            let lane = Int(number % lanes)
            let words = memory.lane(lane)
            let position = words.orderBase.pointee.load(ordering: .acquiring) &+ number / lanes
            let tail = words.tail.pointee.load(ordering: .acquiring)
            if tail > position {
                // Someone took this item already: move the ticket on.
                _ = ticket.pointee.compareExchange(expected: number, desired: number &+ 1, ordering: .acquiringAndReleasing)
                continue
            }
            guard tail == position,
                  memory.slot(lane: lane, position: position).sequence.pointee.load(ordering: .acquiring) == position &+ 1
            else {
                guard skipped < lanes, isFinishedAndDrained(lane) else { return nil }
                skipped += 1
                _ = ticket.pointee.compareExchange(expected: number, desired: number &+ 1, ordering: .acquiringAndReleasing)
                continue
            }
            if words.tail.pointee.compareExchange(
                expected: position, desired: position &+ 1, ordering: .acquiringAndReleasing).exchanged {
                _ = ticket.pointee.compareExchange(expected: number, desired: number &+ 1, ordering: .acquiringAndReleasing)
                return Claim(lane: lane, position: position)
            }
        }
    }

    // MARK: The end of the stream

    /// Whether `lane`'s producer finished and every item it committed was taken.
    /// The finished flag is read first: its producer set it after its last commit.
    private func isFinishedAndDrained(_ lane: Int) -> Bool {
        let words = memory.lane(lane)
        guard words.owner.pointee.load(ordering: .acquiring) & PeerIdentity.finishedBit != 0 else { return false }
        let tail = words.tail.pointee.load(ordering: .acquiring)
        return memory.slot(lane: lane, position: tail).sequence.pointee.load(ordering: .acquiring) != tail &+ 1
    }

    /// The end of the stream: `onlyLane` (or every lane) finished and drained.
    private func isFinished(onlyLane: Int?) -> Bool {
        if let onlyLane { return isFinishedAndDrained(onlyLane) }
        return (0..<memory.laneCount).allSatisfy(isFinishedAndDrained)
    }

    // MARK: Releasing (called by RingLease)

    func release(slot: SlotWords, lane: Int, position: UInt64) {
        slot.holder.pointee.store(0, ordering: .relaxed)
        slot.sequence.pointee.store(position &+ UInt64(memory.slotsPerLane), ordering: .releasing)
        memory.lane(lane).spaceEvent.notifyAll()
    }

    // MARK: Producers' health

    private func checkProducersIfDue(onlyLane: Int?) -> ConveyorError? {
        let now = SystemCalls.monotonicNanoseconds()
        guard now - lastProducerCheck >= RingConsumer.producerCheckInterval else { return nil }
        lastProducerCheck = now
        return checkProducers(onlyLane: onlyLane)
    }

    /// `.producerDied` for the first lane whose producer has ended and whose
    /// committed items have all been taken; the lane is freed for a new producer.
    /// With `onlyLane`, only that lane's producer (the others' deaths are
    /// reported when their lanes are read).
    private func checkProducers(onlyLane: Int?) -> ConveyorError? {
        for lane in onlyLane.map({ $0..<($0 + 1) }) ?? 0..<memory.laneCount {
            let words = memory.lane(lane)
            let word = words.owner.pointee.load(ordering: .acquiring)
            guard word & PeerIdentity.finishedBit == 0, let owner = PeerIdentity(word: word),
                  ownerHasEnded(lane: lane, word: word, owner: owner) else { continue }
            // Deliver what it committed first.
            let tail = words.tail.pointee.load(ordering: .acquiring)
            if memory.slot(lane: lane, position: tail).sequence.pointee.load(ordering: .acquiring) == tail &+ 1 {
                continue
            }
            // One consumer reports each death: the one whose CAS frees the lane.
            guard words.owner.pointee.compareExchange(
                expected: word, desired: 0, ordering: .acquiringAndReleasing).exchanged else { continue }
            watches[lane] = nil
            return .producerDied(pid: owner.pid, lane: lane, status: PeerLiveness.deathDescription(pid: owner.pid))
        }
        return nil
    }

    /// Whether the owner `word` of `lane` names a process that has ended;
    /// the lane's watch is kept while the word stays the same.
    private func ownerHasEnded(lane: Int, word: UInt64, owner: PeerIdentity) -> Bool {
        if let cached = watches[lane], cached.word == word { return cached.watch.ended }
        let watching = PeerIdentity.Watching(owner)
        watches[lane] = (word, watching)
        return watching.ended
    }

    /// The error for a wait that ran out: the producer that should have
    /// produced is stopped (`.producerStalled`), or running, or there is none
    /// (both `.timedOut`, saying which).
    private func diagnoseTimeout(_ waited: Duration, onlyLane: Int?) -> ConveyorError {
        let lanes = memory.laneCount
        let candidates = onlyLane.map { [$0] } ?? (order == .ordered
            ? [Int(memory.orderTicket.pointee.load(ordering: .acquiring) % UInt64(lanes))]
            : Array(0..<lanes))
        var running: (pid: Int32, lane: Int)?
        for lane in candidates {
            let word = memory.lane(lane).owner.pointee.load(ordering: .acquiring)
            guard word & PeerIdentity.finishedBit == 0, let owner = PeerIdentity(word: word) else { continue }
            switch owner.liveness {
            case .stopped: return .producerStalled(pid: owner.pid, lane: lane, waited: waited)
            case .running: running = running ?? (owner.pid, lane)
            case .gone: break
            }
        }
        if let running {
            return .timedOut(operation: "waiting for an item (the producer on lane \(running.lane), pid \(running.pid), "
                + "is running but committed nothing)", after: waited)
        }
        let which = order == .ordered ? "lane \(candidates[0]) has" : "no lane has"
        return .timedOut(operation: "waiting for an item (\(which) a producer attached)", after: waited)
    }
}

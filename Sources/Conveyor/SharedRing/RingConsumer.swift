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
/// A producer that is alive but silent makes `next` time out with
/// `.producerStalled`. A consumer is used by one thread at a time.
public final class RingConsumer {
    /// The order in which items are taken.
    public enum Order: Sendable, Hashable {
        /// Lanes round-robin: item n comes from lane n mod lanes, so producer
        /// w's k-th item is always item k × lanes + w. A silent lane holds the rest back.
        case ordered
        /// Whichever lane has an item ready (lanes are visited in rotation, for fairness).
        case unordered
    }

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
    private let watch: ProducerWatch
    private var nextLane = 0
    private var received: UInt64 = 0
    private var lastProducerCheck: Int64 = 0
    private var calls: UInt64 = 0

    /// How often producers' liveness is checked while consuming or waiting.
    static let producerCheckInterval: Int64 = 5_000_000
    /// The longest futex sleep between checks while waiting.
    static let sleepSlice: Int64 = 10_000_000

    init(ring: SharedRing, order: Order) throws(ConveyorError) {
        self.ring = ring
        self.order = order
        self.memory = ring.memory
        self.watch = ProducerWatch(laneCount: ring.laneCount)
        self.entry = try RingConsumer.register(memory)
    }

    private static func register(_ memory: RingMemory) throws(ConveyorError) -> Int {
        let pid = UInt32(bitPattern: SystemCalls.processID())
        let startTime = PeerLiveness.ownStartTime
        for pass in 0..<2 {
            for index in 0..<RingLayout.consumerCapacity {
                let current = memory.consumerPID(index).pointee.load(ordering: .acquiring)
                // First pass: free entries; second: entries of consumers that died.
                if pass == 1, current == 0 || PeerLiveness.of(
                    pid: Int32(bitPattern: current),
                    startTime: memory.consumerStartTime(index).pointee.load(ordering: .acquiring)) != .gone {
                    continue
                }
                if pass == 0, current != 0 { continue }
                if memory.consumerPID(index).pointee.compareExchange(
                    expected: current, desired: pid, ordering: .acquiringAndReleasing).exchanged {
                    memory.consumerStartTime(index).pointee.store(startTime, ordering: .releasing)
                    memory.consumersEver.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
                    return index
                }
            }
        }
        throw .unavailable("the ring already has \(RingLayout.consumerCapacity) consumers attached; detach one first")
    }

    deinit {
        memory.consumerStartTime(entry).pointee.store(0, ordering: .relaxed)
        memory.consumerPID(entry).pointee.store(0, ordering: .releasing)
    }

    /// Leases the next item, waiting without polling for at most `timeout`
    /// (nil: no limit). With `coldBoot`, the wait for this consumer's first
    /// item ignores the timeout (start-up may be slow); later calls use it.
    ///
    /// Throws `.producerDied` (once per death, after that producer's items
    /// were all delivered), `.producerStalled` when the timeout passes while
    /// a producer lives, `.timedOut` when no producer is attached, or
    /// `.corruptSegment` for an impossible row count.
    public func next(timeout: Duration?, coldBoot: Bool = false) throws(ConveyorError) -> RingLease {
        try next(timeout: timeout, coldBoot: coldBoot, onlyLane: nil)
    }

    /// Leases the next item of lane `lane` only, waiting as `next(timeout:)`
    /// does; only that lane's producer's death is reported (the others' when
    /// their lanes are read), so a death shows in its place. For an `.unordered`
    /// consumer that decides the order itself, such as the DataLoader's
    /// process backend, which reads batch k from the lane of the worker that
    /// made it; an `.ordered` consumer throws `.invalidArgument`.
    public func next(lane: Int, timeout: Duration?) throws(ConveyorError) -> RingLease {
        guard order == .unordered else {
            throw .invalidArgument("next(lane:) would break an ordered consumer's round-robin; use .unordered")
        }
        guard (0..<memory.laneCount).contains(lane) else {
            throw .invalidArgument("lane \(lane) does not exist; the ring has lanes 0...\(memory.laneCount - 1)")
        }
        return try next(timeout: timeout, coldBoot: false, onlyLane: lane)
    }

    private func next(timeout: Duration?, coldBoot: Bool, onlyLane: Int?) throws(ConveyorError) -> RingLease {
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
        let outcome = memory.dataEvent.wait(deadline: deadline, backoff: .none, sleepSlice: RingConsumer.sleepSlice) {
            () -> WaitOutcome? in
            if let claim = claim() { return .claimed(claim) }
            return checkProducersIfDue(onlyLane: onlyLane).map(WaitOutcome.failed)
        }
        switch outcome {
        case let .claimed(claim)?:
            return lease(claim)
        case let .failed(error)?:
            throw error
        case nil:
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
            else { return nil }
            if words.tail.pointee.compareExchange(
                expected: position, desired: position &+ 1, ordering: .acquiringAndReleasing).exchanged {
                _ = ticket.pointee.compareExchange(expected: number, desired: number &+ 1, ordering: .acquiringAndReleasing)
                return Claim(lane: lane, position: position)
            }
        }
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
            let owner = words.ownerPID.pointee.load(ordering: .acquiring)
            guard owner != 0 else { continue }
            let pid = Int32(bitPattern: owner)
            guard watch.hasEnded(lane: lane, pid: pid, startTime: words.ownerStartTime.pointee.load(ordering: .acquiring))
            else { continue }
            // Deliver what it committed first.
            let tail = words.tail.pointee.load(ordering: .acquiring)
            if memory.slot(lane: lane, position: tail).sequence.pointee.load(ordering: .acquiring) == tail &+ 1 {
                continue
            }
            // One consumer reports each death: the one whose CAS frees the lane.
            guard words.ownerPID.pointee.compareExchange(
                expected: owner, desired: 0, ordering: .acquiringAndReleasing).exchanged else { continue }
            watch.forget(lane: lane)
            return .producerDied(pid: pid, lane: lane, status: PeerLiveness.deathDescription(pid: pid))
        }
        return nil
    }

    /// The error for a wait that ran out: the producer that should have
    /// produced is alive (`.producerStalled`, stopped ones first), or there is none.
    private func diagnoseTimeout(_ waited: Duration, onlyLane: Int?) -> ConveyorError {
        let lanes = memory.laneCount
        let candidates = onlyLane.map { [$0] } ?? (order == .ordered
            ? [Int(memory.orderTicket.pointee.load(ordering: .acquiring) % UInt64(lanes))]
            : Array(0..<lanes))
        var alive: (pid: Int32, lane: Int)?
        for lane in candidates {
            let words = memory.lane(lane)
            let pid = Int32(bitPattern: words.ownerPID.pointee.load(ordering: .acquiring))
            guard pid != 0 else { continue }
            switch PeerLiveness.of(pid: pid, startTime: words.ownerStartTime.pointee.load(ordering: .acquiring)) {
            case .stopped: return .producerStalled(pid: pid, lane: lane, waited: waited)
            case .running: alive = alive ?? (pid, lane)
            case .gone: break
            }
        }
        if let alive { return .producerStalled(pid: alive.pid, lane: alive.lane, waited: waited) }
        let which = order == .ordered ? "lane \(candidates[0]) has" : "no lane has"
        return .timedOut(operation: "waiting for an item (\(which) a producer attached)", after: waited)
    }
}

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
///
/// An item is delivered when its lease is released. When a consumer process
/// dies holding a lease, another consumer's `next` returns that item (an
/// ordered consumer out of turn), so nothing is lost and its lane does not
/// stall (docs/FORMAT.md, *A consumer that dies holding an item*).
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
    /// The longest a cold-boot wait (`coldBoot: true`, before this consumer's
    /// first item) lasts when `timeout` is shorter: start-up may be slow,
    /// but a producer that never comes (it refused the ring, say for a
    /// format version it does not speak, or died before claiming a lane)
    /// must not block the consumer forever. nil: no limit.
    public var firstItemTimeout: Duration? = .seconds(60)

    private let memory: RingMemory
    private let entry: Int
    private let identity: PeerIdentity
    /// The watch on each lane's owner, with the owner word it was made for.
    private var watches: [(word: UInt64, watch: PeerIdentity.Watching)?]
    private var nextLane = 0
    private var received: UInt64 = 0
    private var lastProducerCheck: Int64 = 0
    private var calls: UInt64 = 0
    /// Items taken by consumers that died before releasing them, adopted by
    /// this one (see `adoptDeadHoldersItems`); delivered before new ones.
    private var adopted: [(claim: Claim, deadHolder: UInt64)] = []
    /// The ring's `consumerChanges` when this consumer last looked for dead holders.
    private var holdersScannedAt: UInt32 = 0
    /// Watches on the consumers last seen claiming an item at a lane's tail
    /// while this one waited (see `adoptIfClaimantDied`).
    private var claimantWatches: [UInt64: PeerIdentity.Watching] = [:]

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
        guard let entry = memory.registerConsumer(identity, startTime: startTime) else {
            throw .unavailable("the ring already has \(RingLayout.consumerCapacity) consumers attached; detach one first")
        }
        self.entry = entry
        // Items a consumer that died before this one attached still held.
        adoptDeadHoldersItems()
    }

    deinit {
        // Adopted items not delivered go back to their dead holder, for the consumers left (or the next one).
        for (claim, deadHolder) in adopted {
            memory.returnAdopted(lane: claim.lane, position: claim.position, to: deadHolder)
        }
        memory.unregisterConsumer(entry: entry)
    }

    /// Leases the next item, waiting without polling for at most `timeout`
    /// (nil: no limit). With `coldBoot`, the wait for this consumer's first
    /// item lasts up to the longer of `timeout` and `firstItemTimeout`
    /// (start-up may be slow); later calls use `timeout`.
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
        try checkLaneRead(lane, by: "next(lane:)")
        return try next(timeout: timeout, coldBoot: false, onlyLane: lane)
    }

    /// Throws unless this consumer may read lane `lane` alone (`method` names the caller in the error).
    private func checkLaneRead(_ lane: Int, by method: String) throws(ConveyorError) {
        guard order == .unordered else {
            throw .invalidArgument("\(method) would break an ordered consumer's round-robin; use .unordered")
        }
        guard (0..<memory.laneCount).contains(lane) else {
            throw .invalidArgument("lane \(lane) does not exist; the ring has lanes 0...\(memory.laneCount - 1)")
        }
    }

    /// The next item of lane `lane` (nil: in this consumer's order) if one
    /// is there now, without waiting or spinning; nil when none is (the end
    /// of the stream too: `nextItem` tells the two apart). A producer's death
    /// is reported as `next` reports it, when its lane is found empty.
    /// For a caller that does something else rather than wait, or that must
    /// prepare before it waits (the C interface lets go of Python's lock).
    public func nextItemIfReady(lane: Int?) throws(ConveyorError) -> RingLease? {
        if let lane { try checkLaneRead(lane, by: "nextItemIfReady(lane:)") }
        calls &+= 1
        if calls & 63 == 0, let failure = checkProducersIfDue(onlyLane: lane) { throw failure }
        if !adopted.isEmpty, let claim = takeAdopted(onlyLane: lane) { return lease(claim) }
        return claim(onlyLane: lane).map(lease)
    }

    private func finishedError(_ lane: Int?) -> ConveyorError {
        .closed(lane.map { "lane \($0) of the ring (its producer finished and every item was delivered)" }
            ?? "the ring (every lane's producer finished and every item was delivered)")
    }

    private func next(timeout: Duration?, coldBoot: Bool, onlyLane: Int?) throws(ConveyorError) -> RingLease? {
        // While items flow, producers are checked every 64 calls (reading the clock costs).
        calls &+= 1
        if calls & 63 == 0, let failure = checkProducersIfDue(onlyLane: onlyLane) { throw failure }
        if !adopted.isEmpty, let claim = takeAdopted(onlyLane: onlyLane) { return lease(claim) }
        if let claim = claim(onlyLane: onlyLane) { return lease(claim) }
        let claim = { self.claim(onlyLane: onlyLane) }
        var backoff = Backoff(spinNanoseconds: spinBudget, yields: 0, rule: .pauseEachCheck(yieldEvery: 4))
        if let claim = backoff.retry(claim) {
            spinBudget = min(spinBudget * 2, spinTime.conveyorNanoseconds)
            return lease(claim)
        }
        spinBudget = max(spinBudget / 2, spinTime.conveyorNanoseconds / 64)
        let limit = coldBoot && received == 0 ? RingConsumer.longer(timeout, firstItemTimeout) : timeout
        let deadline = Deadline.after(limit)
        let watcher = PeerWatcher.shared
        let sleepLimit: Int64? = watcher == nil ? RingConsumer.fallbackSleepSlice : nil
        // Each wake-up (an item, a claim, a finish, a reset or a death) re-checks everything.
        let outcome = memory.waitForData(deadline: deadline, watcher: watcher, sleepLimit: { sleepLimit }) {
            () -> WaitOutcome? in
            if memory.isTruncated { return .failed(ring.truncationError) }
            if let claim = self.claim(onlyLane: onlyLane, asSleeper: true) { return .claimed(claim) }
            if let claim = adoptIfConsumersChanged(onlyLane: onlyLane) { return .claimed(claim) }
            if let claim = adoptIfClaimantDied(onlyLane: onlyLane) { return .claimed(claim) }
            if isFinished(onlyLane: onlyLane) {
                // The end, unless a consumer died holding one of the last items: nobody may have signalled it.
                adoptDeadHoldersItems()
                return takeAdopted(onlyLane: onlyLane).map(WaitOutcome.claimed) ?? .finished
            }
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
            throw diagnoseTimeout(limit ?? .zero, onlyLane: onlyLane)
        }
    }

    /// The longer of two limits, where nil is no limit.
    private static func longer(_ first: Duration?, _ second: Duration?) -> Duration? {
        guard let first, let second else { return nil }
        return max(first, second)
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
        // The take (or the adoption) already made this process the slot's holder.
        let slot = memory.slot(lane: claim.lane, position: claim.position)
        return RingLease(consumer: self, slot: slot, lane: claim.lane, position: claim.position)
    }

    /// The next item of `onlyLane`, or in this consumer's order, if one is
    /// ready now. `asSleeper`: called inside the wait, counted as a sleeper.
    @inline(__always)
    private func claim(onlyLane: Int?, asSleeper: Bool = false) -> Claim? {
        if let onlyLane {
            return memory.takeHead(of: onlyLane, by: identity, asSleeper: asSleeper).map { Claim(lane: onlyLane, position: $0) }
        }
        guard order == .unordered else {
            return memory.takeOrdered(by: identity, asSleeper: asSleeper).map { Claim(lane: $0.lane, position: $0.position) }
        }
        return claimUnordered(asSleeper: asSleeper)
    }

    private func claimUnordered(asSleeper: Bool) -> Claim? {
        let lanes = memory.laneCount
        for step in 0..<lanes {
            var lane = nextLane + step
            if lane >= lanes { lane -= lanes }
            if let position = memory.takeHead(of: lane, by: identity, asSleeper: asSleeper) {
                nextLane = lane + 1 == lanes ? 0 : lane + 1
                return Claim(lane: lane, position: position)
            }
        }
        return nil
    }

    // MARK: Items whose consumer died holding them

    /// Adopts every item taken by a consumer process that has died without
    /// releasing it (*A consumer that dies holding an item* in FORMAT.md):
    /// the items won are queued in `adopted` and delivered (out of turn for
    /// an ordered consumer). Runs only when a death may have happened: at
    /// registration, when `consumerChanges` moves, and before reporting the
    /// end of the stream.
    private func adoptDeadHoldersItems() {
        holdersScannedAt = memory.consumerTableChanges
        var ended: [UInt64: Bool] = [:]
        let won = memory.adoptItems(heldByEnded: { word in
            if let known = ended[word] { return known }
            let dead = PeerIdentity(word: word)?.hasEnded ?? false
            ended[word] = dead
            return dead
        }, adopter: identity)
        adopted += won.map { (Claim(lane: $0.lane, position: $0.position), $0.deadHolder) }
    }

    /// `adoptDeadHoldersItems` if `consumerChanges` moved since the last scan
    /// (a consumer registered or left, or a producer found a dead holder), then an adopted item.
    private func adoptIfConsumersChanged(onlyLane: Int?) -> Claim? {
        if memory.consumerTableChanges != holdersScannedAt { adoptDeadHoldersItems() }
        return takeAdopted(onlyLane: onlyLane)
    }

    /// An item whose consumer died between claiming it and advancing the
    /// tail, adopted. Such a claim holds its lane back, and nobody signals
    /// it unless the producer blocks, so a waiting consumer watches the
    /// claimant at each lane's tail itself (the watch wakes this wait when
    /// it dies). Only on the waiting path: on the item path a claim at the
    /// tail is another consumer taking that item right now.
    private func adoptIfClaimantDied(onlyLane: Int?) -> Claim? {
        var seen: [UInt64: PeerIdentity.Watching] = [:]
        var ended = false
        for lane in onlyLane.map({ $0..<($0 + 1) }) ?? 0..<memory.laneCount {
            guard let word = memory.claimantAtTail(of: lane, other: identity),
                  let claimant = PeerIdentity(word: word) else { continue }
            let watch = claimantWatches[word] ?? PeerIdentity.Watching(claimant)
            seen[word] = watch
            ended = ended || watch.ended
        }
        claimantWatches = seen
        guard ended else { return nil }
        adoptDeadHoldersItems()
        return takeAdopted(onlyLane: onlyLane)
    }

    /// The oldest adopted item (of `onlyLane`, if given).
    private func takeAdopted(onlyLane: Int?) -> Claim? {
        guard let index = adopted.firstIndex(where: { onlyLane == nil || $0.claim.lane == onlyLane }) else { return nil }
        return adopted.remove(at: index).claim
    }

    // MARK: The end of the stream

    /// The end of the stream: `onlyLane` (or every lane) finished and drained.
    private func isFinished(onlyLane: Int?) -> Bool {
        if let onlyLane { return memory.isDone(onlyLane) }
        return (0..<memory.laneCount).allSatisfy(memory.isDone)
    }

    // MARK: Releasing (called by RingLease)

    func release(slot: SlotWords, lane: Int, position: UInt64) {
        memory.release(slot, lane: lane, position: position)
    }

    // MARK: Producers' health

    private func checkProducersIfDue(onlyLane: Int?) -> ConveyorError? {
        let now = SystemCalls.monotonicNanoseconds()
        guard now - lastProducerCheck >= RingConsumer.producerCheckInterval else { return nil }
        lastProducerCheck = now
        if memory.consumerTableChanges != holdersScannedAt { adoptDeadHoldersItems() }
        return checkProducers(onlyLane: onlyLane)
    }

    /// `.producerDied` for the first lane whose producer has ended and whose
    /// committed items have all been taken; the lane is freed for a new producer.
    /// With `onlyLane`, only that lane's producer (the others' deaths are
    /// reported when their lanes are read).
    private func checkProducers(onlyLane: Int?) -> ConveyorError? {
        for lane in onlyLane.map({ $0..<($0 + 1) }) ?? 0..<memory.laneCount {
            let state = memory.owner(of: lane)
            guard case let .owned(owner) = state, ownerHasEnded(lane: lane, word: state.word, owner: owner) else { continue }
            // Deliver what it committed first.
            if memory.hasItemAtTail(lane) { continue }
            // One consumer reports each death: the one whose CAS frees the lane.
            guard memory.freeDeadOwner(of: lane, state) else { continue }
            watches[lane] = nil
            return .producerDied(pid: owner.pid, lane: lane, status: ExitRecords.description(of: owner.pid))
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
            ? [Int(memory.nextOrderTicket % UInt64(lanes))]
            : Array(0..<lanes))
        var running: (pid: Int32, lane: Int)?
        for lane in candidates {
            guard case let .owned(owner) = memory.owner(of: lane) else { continue }
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

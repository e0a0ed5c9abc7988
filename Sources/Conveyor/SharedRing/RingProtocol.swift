import Synchronization

/// The ring protocol in one room: every load, store, CAS and futex call on
/// the shared segment, each named after the docs/FORMAT.md step it
/// implements (section names in italics). `RingStates` decides which
/// transitions are legal; this file performs them atomically with the
/// orderings FORMAT.md gives. RingProducer, RingConsumer, RingInfo and
/// `SharedRing.reset` call these and touch no shared word themselves.
extension RingMemory {
    // MARK: Ring header

    /// The reset epoch (*Producing position p*, steps 1 and 3; *Claiming a lane*, step 4).
    var currentEpoch: UInt64 { epoch.pointee.load(ordering: .acquiring) }

    /// Ordered mode's next item number (*Taking an item (ordered)*).
    var nextOrderTicket: UInt64 { orderTicket.pointee.load(ordering: .acquiring) }

    /// How many consumers ever attached (*Liveness*, no consumer yet).
    var consumersEverAttached: UInt32 { consumersEver.pointee.load(ordering: .acquiring) }

    /// Bumped by every consumer registering or leaving (*Consumer table*).
    var consumerTableChanges: UInt32 { consumerChanges.pointee.load(ordering: .acquiring) }

    // MARK: Consumer table

    /// *Consumer table*, registering: CAS of a free entry to `identity`'s
    /// word (first pass), else of a dead consumer's (second pass); then the
    /// start time and the two counters, then every lane's producer is woken
    /// (one blocked before any consumer registered starts watching this one).
    /// Returns the entry, or nil when all are taken by live consumers.
    func registerConsumer(_ identity: PeerIdentity, startTime: UInt64) -> Int? {
        for pass in 0..<2 {
            for index in 0..<RingLayout.consumerCapacity {
                let word = consumerIdentity(index).pointee.load(ordering: .acquiring)
                if pass == 0, word != 0 { continue }
                if pass == 1, PeerIdentity(word: word).map({ $0.liveness != .gone }) ?? true { continue }
                if consumerIdentity(index).pointee.compareExchange(
                    expected: word, desired: identity.word, ordering: .acquiringAndReleasing).exchanged {
                    consumerStartTime(index).pointee.store(startTime, ordering: .relaxed)
                    consumersEver.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
                    consumerChanges.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
                    wakeProducers()
                    return index
                }
            }
        }
        return nil
    }

    /// *Consumer table*, leaving: clears the entry, bumps `consumerChanges`,
    /// and wakes every lane's producer (they re-check who is left to free it).
    func unregisterConsumer(entry: Int) {
        consumerStartTime(entry).pointee.store(0, ordering: .relaxed)
        consumerIdentity(entry).pointee.store(0, ordering: .releasing)
        consumerChanges.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
        wakeProducers()
    }

    /// Bumps every lane's `spaceSequence` and wakes its sleepers, so
    /// producers blocked on full lanes re-check (*Consumer table*: who
    /// consumes; *Reset*, step 4: the epoch).
    private func wakeProducers() {
        for lane in 0..<laneCount { self.lane(lane).spaceEvent.wakeAll() }
    }

    /// The consumers in the table now.
    var consumers: [PeerIdentity] {
        (0..<RingLayout.consumerCapacity).compactMap { index in
            PeerIdentity(word: consumerIdentity(index).pointee.load(ordering: .acquiring))
        }
    }

    // MARK: A lane's owner

    /// The lane's owner word, decoded (acquire).
    @inline(__always)
    func owner(of lane: Int) -> LaneOwnerState {
        LaneOwnerState(word: self.lane(lane).owner.pointee.load(ordering: .acquiring))
    }

    /// CAS of `lane`'s owner from `current` to `next` (acq_rel): the one way an owner word changes.
    private func changeOwner(of lane: Int, from current: LaneOwnerState, to next: LaneOwnerState?) -> Bool {
        guard let next else { return false }
        return self.lane(lane).owner.pointee.compareExchange(
            expected: current.word, desired: next.word, ordering: .acquiringAndReleasing).exchanged
    }

    /// *Claiming a lane*, step 1: one CAS making `lane` `claimant`'s, if it is
    /// free, or (`takingOver`) if its owner is dead.
    func claimLane(_ lane: Int, by claimant: PeerIdentity, takingOver: Bool) -> Bool {
        let current = owner(of: lane)
        return changeOwner(of: lane, from: current, to: current.claimed(by: claimant) { owner in
            takingOver && owner.liveness == .gone
        })
    }

    /// *Claiming a lane*, steps 2-5, after step 1 succeeded: stores the
    /// informational words, recovers the head, reads the epoch and wakes
    /// consumers (they watch the new owner from now on).
    func settleClaim(of lane: Int, startTime: UInt64) -> (head: UInt64, epoch: UInt64) {
        let words = self.lane(lane)
        words.ownerStartTime.pointee.store(startTime, ordering: .relaxed)
        words.claimedAt.pointee.store(UInt64(SystemCalls.monotonicNanoseconds()), ordering: .relaxed)
        let stored = words.head.pointee.load(ordering: .acquiring)
        let sequence = slot(lane: lane, position: stored).sequence.pointee.load(ordering: .acquiring)
        let head = LaneCursor.recovered(head: stored, sequence: sequence, slots: UInt64(slotsPerLane))
        if head != stored { words.head.pointee.store(head, ordering: .releasing) }
        let epoch = currentEpoch
        dataEvent.wakeAll()
        return (head, epoch)
    }

    /// *Claiming a lane*, releasing: the producer goes away unfinished.
    func releaseLane(_ lane: Int, by producer: PeerIdentity) {
        self.lane(lane).ownerStartTime.pointee.store(0, ordering: .relaxed)
        let current = LaneOwnerState.owned(producer)
        _ = changeOwner(of: lane, from: current, to: current.released(by: producer))
    }

    /// *Finishing a lane*: CAS own word → finished, then wake consumers.
    /// False when the lane is no longer `producer`'s.
    func finishLane(_ lane: Int, by producer: PeerIdentity) -> Bool {
        let current = LaneOwnerState.owned(producer)
        guard changeOwner(of: lane, from: current, to: current.finished(by: producer)) else { return false }
        dataEvent.wakeAll()
        return true
    }

    /// *Liveness*, dead producer: frees the lane of the dead `owner` (the
    /// caller checked it is drained). True for the one consumer whose CAS
    /// succeeded: it reports the death.
    func freeDeadOwner(of lane: Int, _ owner: LaneOwnerState) -> Bool {
        changeOwner(of: lane, from: owner, to: owner.freedAfterDeath())
    }

    // MARK: Producing position p

    /// *Producing position p*, step 1: whether `slot` is free for `position`.
    @inline(__always)
    func isFree(_ slot: SlotWords, for position: UInt64) -> Bool {
        LaneCursor.canReserve(head: position, sequence: slot.sequence.pointee.load(ordering: .acquiring))
    }

    /// *Producing position p*, steps 4-6: publish (the commit point), store
    /// the head, wake consumers. Returns the new head.
    @inline(__always)
    func publish(_ slot: SlotWords, lane: Int, position: UInt64) -> UInt64 {
        slot.sequence.pointee.store(position &+ 1, ordering: .releasing)
        let head = position &+ 1
        self.lane(lane).head.pointee.store(head, ordering: .releasing)
        dataEvent.notifyAll()
        return head
    }

    /// *Waiting*, a producer on a full lane: sleeps on the lane's
    /// `spaceSequence` (and the watcher's alarm) until `attempt` succeeds.
    func waitForSpace<Result>(
        lane: Int, deadline: Deadline?, watcher: PeerWatcher?, sleepLimit: () -> Int64?, _ attempt: () -> Result?
    ) -> Result? {
        self.lane(lane).spaceEvent.wait(deadline: deadline, watcher: watcher, sleepLimit: sleepLimit, attempt)
    }

    // MARK: Taking an item

    /// *Taking an item (unordered)*, for one lane: claim, then advance. The
    /// position `claimant` took, or nil when the lane is empty or its item
    /// at `tail` is being taken by another consumer right now. `asSleeper`:
    /// the caller is counted in `dataSleepers` (it takes inside its wait).
    @inline(__always)
    func takeHead(of lane: Int, by claimant: PeerIdentity, asSleeper: Bool = false) -> UInt64? {
        let tail = self.lane(lane).tail
        var position = tail.pointee.load(ordering: .acquiring)
        while true {
            let slot = slot(lane: lane, position: position)
            let sequence = slot.sequence.pointee.load(ordering: .acquiring)
            if let next = LaneCursor.taken(tail: position, sequence: sequence), claim(slot, by: claimant) {
                switch advance(tail, from: position, to: next, claimed: slot, asSleeper: asSleeper) {
                case .taken: return position
                case let .moved(now): position = now
                }
                continue
            }
            // Not published, or claimed by another consumer: if the tail moved meanwhile (that consumer took
            // the item), the next one may be ready: start again there at once. Else the lane is not ready.
            let now = tail.pointee.load(ordering: .acquiring)
            if now == position { return nil }
            position = now
        }
    }

    /// *Taking an item*, the claim: CAS the slot's `holder` 0 → `claimant`
    /// (acq_rel). False when someone else holds it: the item is being taken
    /// (or, behind the tail, read) by them.
    @inline(__always)
    private func claim(_ slot: SlotWords, by claimant: PeerIdentity) -> Bool {
        guard let word = SlotHolder.claimed(holder: 0, by: claimant),
              slot.holder.pointee.compareExchange(expected: 0, desired: word, ordering: .acquiringAndReleasing).exchanged
        else { return false }
        if stopAfterClaim != 0 { RingTestHook.claimed() }
        return true
    }

    private enum Advance {
        case taken
        case moved(UInt64)
    }

    /// *Taking an item*, the advance after the claim: CAS `tail` position →
    /// next (seq_cst), then notify consumers that may wait for this claim
    /// (*Waiting*; the seq_cst CAS orders the sleeper load; a caller counted
    /// among the sleepers does not count itself). If `tail` moved
    /// instead (the claim landed on a later lap of the slot), the claim is
    /// dropped (holder 0, release) and waiters are woken: `.moved` to the
    /// tail now.
    @inline(__always)
    private func advance(
        _ tail: UnsafeMutablePointer<Atomic<UInt64>>, from position: UInt64, to next: UInt64, claimed slot: SlotWords,
        asSleeper: Bool
    ) -> Advance {
        let (exchanged, original) = tail.pointee.compareExchange(
            expected: position, desired: next, ordering: .sequentiallyConsistent)
        if exchanged {
            dataEvent.notifyOthersAfterBarrier(selfCounted: asSleeper)
            return .taken
        }
        slot.holder.pointee.store(0, ordering: .releasing)
        dataEvent.notifyAll()
        return .moved(original)
    }

    /// *Taking an item (ordered)*: the lane and position of the next item in
    /// round-robin order, claimed and taken by `claimant`, or nil when it is
    /// not ready (or being taken by another consumer right now). Done lanes'
    /// tickets are skipped (at most one round in a row). `asSleeper` as for `takeHead`.
    func takeOrdered(by claimant: PeerIdentity, asSleeper: Bool = false) -> (lane: Int, position: UInt64)? {
        let lanes = UInt64(laneCount)
        let ticket = orderTicket
        var skipped: UInt64 = 0
        while true {
            let number = ticket.pointee.load(ordering: .acquiring)
            let lane = Int(number % lanes)
            let words = self.lane(lane)
            let position = words.orderBase.pointee.load(ordering: .acquiring) &+ number / lanes
            let tail = words.tail.pointee.load(ordering: .acquiring)
            if tail > position {
                // Someone took this item already: move the ticket on.
                _ = ticket.pointee.compareExchange(expected: number, desired: number &+ 1, ordering: .acquiringAndReleasing)
                continue
            }
            let slot = slot(lane: lane, position: position)
            guard tail == position,
                  LaneCursor.taken(tail: position, sequence: slot.sequence.pointee.load(ordering: .acquiring)) != nil
            else {
                guard skipped < lanes, isDone(lane) else { return nil }
                skipped += 1
                _ = ticket.pointee.compareExchange(expected: number, desired: number &+ 1, ordering: .acquiringAndReleasing)
                continue
            }
            guard claim(slot, by: claimant) else {
                // Claimed by another consumer: once it advanced, the next ticket may be ready: look at once.
                if words.tail.pointee.load(ordering: .acquiring) == position { return nil }
                continue
            }
            if case .taken = advance(words.tail, from: position, to: position &+ 1, claimed: slot, asSleeper: asSleeper) {
                _ = ticket.pointee.compareExchange(expected: number, desired: number &+ 1, ordering: .acquiringAndReleasing)
                return (lane, position)
            }
        }
    }

    /// Whether the slot at `lane`'s tail is published: items remain to be
    /// taken (*Liveness*: a dead producer's items are delivered first).
    func hasItemAtTail(_ lane: Int) -> Bool {
        let tail = self.lane(lane).tail.pointee.load(ordering: .acquiring)
        return LaneCursor.taken(tail: tail, sequence: slot(lane: lane, position: tail).sequence.pointee
            .load(ordering: .acquiring)) != nil
    }

    /// *The end of the stream*: `lane`'s owner finished (read first: it
    /// finished after its last commit) and every item it committed was taken.
    func isDone(_ lane: Int) -> Bool {
        let owner = owner(of: lane)
        guard case .finished = owner else { return false }
        let tail = self.lane(lane).tail.pointee.load(ordering: .acquiring)
        let sequence = slot(lane: lane, position: tail).sequence.pointee.load(ordering: .acquiring)
        return LaneCursor.isDone(owner: owner, tail: tail, sequenceAtTail: sequence)
    }

    /// *Waiting*, a consumer on an empty ring: sleeps on `dataSequence`
    /// (and the watcher's alarm) until `attempt` succeeds.
    func waitForData<Result>(
        deadline: Deadline?, watcher: PeerWatcher?, sleepLimit: () -> Int64?, _ attempt: () -> Result?
    ) -> Result? {
        dataEvent.wait(deadline: deadline, watcher: watcher, sleepLimit: sleepLimit, attempt)
    }

    // MARK: Reading and releasing

    /// *Reading and releasing*, releasing item `position`: frees the slot for
    /// position + S (release), then clears the holder (release: never a
    /// published slot behind the tail without a holder), then notifies the
    /// lane's producer and the consumers (one fence for both; a consumer may
    /// have found the slot, published again, still held).
    @inline(__always)
    func release(_ slot: SlotWords, lane: Int, position: UInt64) {
        slot.sequence.pointee.store(position &+ UInt64(slotsPerLane), ordering: .releasing)
        slot.holder.pointee.store(0, ordering: .releasing)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        self.lane(lane).spaceEvent.notifyAllAfterBarrier()
        dataEvent.notifyAllAfterBarrier()
    }

    // MARK: A consumer that dies holding an item

    /// *A consumer that dies holding an item*, adopting: for each lane, each
    /// position p of `max(0, tail − S) ... tail` whose slot is published for
    /// it (claimed or taken, not released) and whose holder is a process for
    /// which `hasEnded` is true: CAS holder dead word → `adopter`'s (acq_rel).
    /// The position is read from the slot's sequence after the CAS; an item
    /// still at the tail (its claimant died before advancing) is advanced
    /// past by the adopter, and a claim not yet at the tail goes back to its
    /// dead holder. The items won, with the dead word each replaced.
    func adoptItems(
        heldByEnded hasEnded: (UInt64) -> Bool, adopter: PeerIdentity
    ) -> [(lane: Int, position: UInt64, deadHolder: UInt64)] {
        let slots = UInt64(slotsPerLane)
        var won: [(lane: Int, position: UInt64, deadHolder: UInt64)] = []
        for lane in 0..<laneCount {
            let tail = self.lane(lane).tail
            for position in LaneCursor.adoptionScan(tail: tail.pointee.load(ordering: .acquiring), slots: slots) {
                let slot = self.slot(lane: lane, position: position)
                guard slot.sequence.pointee.load(ordering: .acquiring) == position &+ 1 else { continue }
                let word = slot.holder.pointee.load(ordering: .acquiring)
                guard let adopted = SlotHolder.adopted(holder: word, by: adopter, hasEnded: hasEnded),
                      slot.holder.pointee.compareExchange(
                          expected: word, desired: adopted, ordering: .acquiringAndReleasing).exchanged
                else { continue }
                let item = slot.sequence.pointee.load(ordering: .acquiring) &- 1
                switch LaneCursor.adopted(position: item, tail: tail.pointee.load(ordering: .acquiring)) {
                case .advanceTail:
                    // Only the holder moves the tail past its slot: this CAS fails only if the dead claimant's succeeded.
                    _ = tail.pointee.compareExchange(expected: item, desired: item &+ 1, ordering: .sequentiallyConsistent)
                    dataEvent.notifyAllAfterBarrier()
                case .taken:
                    break
                case .notYetAtTail:
                    slot.holder.pointee.store(word, ordering: .releasing)
                    continue
                }
                won.append((lane, item, word))
            }
        }
        return won
    }

    /// *A consumer that dies holding an item*, leaving with adopted items not
    /// delivered: the dead holder's word goes back (release), for the
    /// consumers left (or the next one) to adopt.
    func returnAdopted(lane: Int, position: UInt64, to deadHolder: UInt64) {
        slot(lane: lane, position: position).holder.pointee.store(deadHolder, ordering: .releasing)
    }

    /// *A consumer that dies holding an item*, signalling: the holder of the
    /// item at `position` of `lane` when it is claimed or taken and not
    /// released (`tail ≥ position`), else nil.
    func unreleasedHolder(lane: Int, position: UInt64) -> PeerIdentity? {
        let slot = self.slot(lane: lane, position: position)
        guard LaneCursor.isUnreleased(
            position: position, sequence: slot.sequence.pointee.load(ordering: .acquiring),
            tail: self.lane(lane).tail.pointee.load(ordering: .acquiring)) else { return nil }
        return PeerIdentity(word: slot.holder.pointee.load(ordering: .acquiring))
    }

    /// The holder of the item at `lane`'s tail, other than `own`: a consumer
    /// between its claim and its advance (nil when the slot at tail is not
    /// published, or nobody or `own` holds it).
    func claimantAtTail(of lane: Int, other own: PeerIdentity) -> UInt64? {
        let position = self.lane(lane).tail.pointee.load(ordering: .acquiring)
        let slot = self.slot(lane: lane, position: position)
        guard slot.sequence.pointee.load(ordering: .acquiring) == position &+ 1 else { return nil }
        let word = slot.holder.pointee.load(ordering: .acquiring)
        return word == 0 || word == own.word ? nil : word
    }

    /// *A consumer that dies holding an item*, signalling: adds 1 to
    /// `consumerChanges` (acq_rel) and wakes the consumers on `dataSequence`,
    /// so they scan for dead holders.
    func signalDeadHolder() {
        consumerChanges.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
        dataEvent.wakeAll()
    }

    // MARK: Reset

    /// *Reset*, steps 1-4: drop every item not yet taken (counted as
    /// discarded), reopen finished lanes, restart ordered reading, wake
    /// everyone. `resetter` is this process (the drain claims items as a
    /// consumer does); `hasEnded` tells whether a holder's process has ended.
    func reset(by resetter: PeerIdentity, hasEnded: (UInt64) -> Bool) {
        epoch.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        for lane in 0..<laneCount {
            let words = self.lane(lane)
            drain(lane, by: resetter, hasEnded: hasEnded)
            words.orderBase.pointee.store(words.tail.pointee.load(ordering: .acquiring), ordering: .releasing)
            let owner = owner(of: lane)
            _ = changeOwner(of: lane, from: owner, to: owner.reopened())
        }
        orderTicket.pointee.store(0, ordering: .sequentiallyConsistent)
        dataEvent.wakeAll()
        wakeProducers()
    }

    /// How long a reset's drain waits for a live consumer between its claim
    /// and its advance at a lane's tail (a few instructions, unless it is
    /// stopped) before it leaves that lane's remaining items in place.
    static let resetClaimPatience: Int64 = 1_000_000_000

    /// *Reset*, step 2, for one lane: drain with the consumers' own protocol
    /// (claim, then advance), so a reset racing a consumer is still
    /// exactly-once. A live consumer's claim at the tail is waited for (it
    /// keeps that item); a dead one's is taken over and its item discarded.
    private func drain(_ lane: Int, by resetter: PeerIdentity, hasEnded: (UInt64) -> Bool) {
        let slots = UInt64(slotsPerLane)
        let words = self.lane(lane)
        var waitingSince: Int64?
        while true {
            let tail = words.tail.pointee.load(ordering: .acquiring)
            let slot = slot(lane: lane, position: tail)
            let sequence = slot.sequence.pointee.load(ordering: .acquiring)
            guard let next = LaneCursor.taken(tail: tail, sequence: sequence),
                  let released = SlotState.released(sequence: sequence, position: tail, slots: slots)
            else { return }
            let holder = slot.holder.pointee.load(ordering: .acquiring)
            if holder != 0, !hasEnded(holder) {
                let now = SystemCalls.monotonicNanoseconds()
                let since = waitingSince ?? now
                waitingSince = since
                if now - since > RingMemory.resetClaimPatience { return }
                SystemCalls.sleep(nanoseconds: 50_000)
                continue
            }
            waitingSince = nil
            guard slot.holder.pointee.compareExchange(
                expected: holder, desired: resetter.word, ordering: .acquiringAndReleasing).exchanged else { continue }
            if words.tail.pointee.compareExchange(expected: tail, desired: next, ordering: .sequentiallyConsistent).exchanged {
                slot.sequence.pointee.store(released, ordering: .releasing)
                slot.holder.pointee.store(0, ordering: .releasing)
                words.discarded.pointee.wrappingAdd(1, ordering: .relaxed)
            } else {
                // The tail moved (a dead claimant had advanced it): its claim goes back as it was.
                slot.holder.pointee.store(holder, ordering: .releasing)
            }
        }
    }

    // MARK: Reading the state (RingInfo)

    /// One lane's words as they are now (each read on its own; a snapshot
    /// of a running ring may mix moments).
    func snapshot(of lane: Int) -> (owner: LaneOwnerState, head: UInt64, tail: UInt64, discarded: UInt64,
                                    claimedAt: UInt64) {
        let words = self.lane(lane)
        let owner = owner(of: lane)
        let tail = words.tail.pointee.load(ordering: .acquiring)
        let head = words.head.pointee.load(ordering: .acquiring)
        return (owner, head, tail, words.discarded.pointee.load(ordering: .relaxed),
                words.claimedAt.pointee.load(ordering: .relaxed))
    }

    /// Items waiting in `lane` now (two loads, no /proc reads).
    func depth(of lane: Int) -> Int {
        let words = self.lane(lane)
        let tail = words.tail.pointee.load(ordering: .acquiring)
        let head = words.head.pointee.load(ordering: .acquiring)
        return LaneCursor.depth(head: head, tail: tail, slots: slotsPerLane)
    }
}

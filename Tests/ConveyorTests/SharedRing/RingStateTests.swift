import Testing
@testable import Conveyor

/// The ring's state machine on its own (`RingStates`): every transition
/// docs/FORMAT.md allows, and every other one refused. Pure values: no
/// segment, no processes, no threads.
@Suite struct RingStateTests {
    let producer = PeerIdentity(pid: 100, startTime: 7)
    let other = PeerIdentity(pid: 200, startTime: 9)
    let slots: UInt64 = 4

    @Test func ownerWordsRoundTrip() {
        for state in [LaneOwnerState.free, .owned(producer), .finished(producer)] {
            #expect(LaneOwnerState(word: state.word) == state)
        }
        #expect(LaneOwnerState.free.word == 0)
        #expect(LaneOwnerState.finished(producer).word == producer.word | PeerIdentity.finishedBit)
    }

    @Test func claimTakesAFreeLaneOrADeadOwnersAndNothingElse() {
        #expect(LaneOwnerState.free.claimed(by: producer) { _ in false } == .owned(producer))
        // Takeover of a dead owner: pid and tag change in one step.
        #expect(LaneOwnerState.owned(other).claimed(by: producer) { $0 == other } == .owned(producer))
        // A live owner's lane and a finished lane are refused (dead or not).
        #expect(LaneOwnerState.owned(other).claimed(by: producer) { _ in false } == nil)
        #expect(LaneOwnerState.finished(other).claimed(by: producer) { _ in true } == nil)
    }

    @Test func finishAndReleaseAreTheOwnersAlone() {
        #expect(LaneOwnerState.owned(producer).finished(by: producer) == .finished(producer))
        #expect(LaneOwnerState.owned(producer).released(by: producer) == .free)
        #expect(LaneOwnerState.owned(other).finished(by: producer) == nil)
        #expect(LaneOwnerState.owned(other).released(by: producer) == nil)
        #expect(LaneOwnerState.free.finished(by: producer) == nil)
        #expect(LaneOwnerState.free.released(by: producer) == nil)
        // Finishing twice, or releasing a finished lane, is refused.
        #expect(LaneOwnerState.finished(producer).finished(by: producer) == nil)
        #expect(LaneOwnerState.finished(producer).released(by: producer) == nil)
    }

    @Test func aDeadOwnerIsFreedAndResetReopensOnlyFinishedLanes() {
        #expect(LaneOwnerState.owned(other).freedAfterDeath() == .free)
        #expect(LaneOwnerState.free.freedAfterDeath() == nil)
        #expect(LaneOwnerState.finished(other).freedAfterDeath() == nil)
        #expect(LaneOwnerState.finished(other).reopened() == .free)
        #expect(LaneOwnerState.owned(other).reopened() == nil)
        #expect(LaneOwnerState.free.reopened() == nil)
    }

    @Test func slotStatesFollowTheSequence() {
        let p: UInt64 = 9
        #expect(SlotState(sequence: p, position: p, slots: slots) == .free)
        #expect(SlotState(sequence: p + 1, position: p, slots: slots) == .published)
        #expect(SlotState(sequence: p + slots, position: p, slots: slots) == .released)
        #expect(SlotState(sequence: p - slots + 1, position: p, slots: slots) == .other)
        #expect((0..<4).map(SlotState.initialSequence(index:)) == [0, 1, 2, 3])
    }

    /// One slot's life: reserve, commit, consume, release, and the next lap.
    @Test func aSlotGoesRoundReserveCommitConsumeRelease() throws {
        var sequence = SlotState.initialSequence(index: 1)
        var head: UInt64 = 1, tail: UInt64 = 1
        for _ in 0..<3 {
            #expect(LaneCursor.canReserve(head: head, sequence: sequence))
            #expect(LaneCursor.taken(tail: tail, sequence: sequence) == nil)  // nothing to take before the commit
            sequence = try #require(SlotState.committed(sequence: sequence, position: head))
            head += 1
            #expect(!LaneCursor.canReserve(head: head - 1, sequence: sequence))
            tail = try #require(LaneCursor.taken(tail: tail, sequence: sequence))
            sequence = try #require(SlotState.released(sequence: sequence, position: tail - 1, slots: slots))
            // The slot is free again, for the position one lap on.
            head += slots - 1
            tail += slots - 1
        }
    }

    @Test func illegalSlotTransitionsAreRefused() {
        let p: UInt64 = 5
        // Committing a slot that is not free for p (published, released, another lap).
        #expect(SlotState.committed(sequence: p + 1, position: p) == nil)
        #expect(SlotState.committed(sequence: p + slots, position: p) == nil)
        #expect(SlotState.committed(sequence: p - slots, position: p) == nil)
        // Releasing what was not published.
        #expect(SlotState.released(sequence: p, position: p, slots: slots) == nil)
        #expect(SlotState.released(sequence: p + slots, position: p, slots: slots) == nil)
        // Taking what was not published.
        #expect(LaneCursor.taken(tail: p, sequence: p) == nil)
        #expect(LaneCursor.taken(tail: p, sequence: p + slots) == nil)
    }

    @Test func aNewOwnerRecoversAHeadItsPredecessorPublished() {
        // The predecessor died after publishing p and before storing head = p + 1.
        #expect(LaneCursor.recovered(head: 6, sequence: 7, slots: slots) == 7)
        // ... or after that item was even taken and released.
        #expect(LaneCursor.recovered(head: 6, sequence: 6 + slots, slots: slots) == 7)
        // Nothing published at the head: it stays.
        #expect(LaneCursor.recovered(head: 6, sequence: 6, slots: slots) == 6)
    }

    @Test func aLaneIsDoneOnlyFinishedAndDrained() {
        let finished = LaneOwnerState.finished(producer)
        #expect(LaneCursor.isDone(owner: finished, tail: 3, sequenceAtTail: 3))
        #expect(!LaneCursor.isDone(owner: finished, tail: 3, sequenceAtTail: 4))  // item 3 still waits
        #expect(!LaneCursor.isDone(owner: .owned(producer), tail: 3, sequenceAtTail: 3))
        #expect(!LaneCursor.isDone(owner: .free, tail: 3, sequenceAtTail: 3))
    }

    @Test func depthIsClampedToTheLane() {
        #expect(LaneCursor.depth(head: 7, tail: 5, slots: 4) == 2)
        #expect(LaneCursor.depth(head: 20, tail: 5, slots: 4) == 4)
        #expect(LaneCursor.depth(head: 5, tail: 7, slots: 4) == 0)
    }

    @Test func onlyAnUnheldSlotIsClaimed() {
        let consumer = PeerIdentity(pid: 77, startTime: 1234)
        #expect(SlotHolder.claimed(holder: 0, by: consumer) == consumer.word)
        #expect(SlotHolder.claimed(holder: producer.word, by: consumer) == nil)  // being taken by another
        #expect(SlotHolder.claimed(holder: consumer.word, by: consumer) == nil)  // not twice, not even by its own word
    }

    @Test func onlyAnEndedHoldersItemIsAdopted() {
        let adopter = PeerIdentity(pid: 77, startTime: 1234)
        let dead = PeerIdentity(pid: 88, startTime: 99)
        let ended: (UInt64) -> Bool = { $0 == dead.word }
        #expect(SlotHolder.adopted(holder: dead.word, by: adopter, hasEnded: ended) == adopter.word)
        #expect(SlotHolder.adopted(holder: producer.word, by: adopter, hasEnded: ended) == nil)  // alive
        #expect(SlotHolder.adopted(holder: 0, by: adopter, hasEnded: { _ in true }) == nil)
        #expect(SlotHolder.adopted(holder: adopter.word, by: adopter, hasEnded: { _ in true }) == nil)
    }

    @Test func anAdoptionScanCoversTheTailSlotAndTheSBehindIt() {
        #expect(LaneCursor.adoptionScan(tail: 0, slots: slots) == 0...0)
        #expect(LaneCursor.adoptionScan(tail: 2, slots: slots) == 0...2)
        #expect(LaneCursor.adoptionScan(tail: 10, slots: slots) == (10 - slots)...10)
        // What the adopter does with the tail, by where the item it won stands.
        #expect(LaneCursor.adopted(position: 10, tail: 10) == .advanceTail)  // claimed, never advanced
        #expect(LaneCursor.adopted(position: 9, tail: 10) == .taken)
        #expect(LaneCursor.adopted(position: 10 + slots, tail: 10) == .notYetAtTail)  // a claim on a later lap
    }

    @Test func aClaimedOrTakenItemIsUnreleasedUntilReleased() {
        let p: UInt64 = 6
        #expect(LaneCursor.isUnreleased(position: p, sequence: p + 1, tail: p))      // claimed at the tail
        #expect(LaneCursor.isUnreleased(position: p, sequence: p + 1, tail: p + 3))  // taken
        #expect(!LaneCursor.isUnreleased(position: p, sequence: p + 1, tail: p - 1))  // published, not reached
        #expect(!LaneCursor.isUnreleased(position: p, sequence: p + slots, tail: p + 3))  // released
    }
}

import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// A consumer process killed (SIGKILL) between its claim of an item's
    /// slot and its advance of the lane's tail (FORMAT.md, *Taking an item*:
    /// claim, then advance). The helper is stopped at exactly that step by
    /// `RingTestHook` (CONVEYOR_TEST_STOP_AFTER_CLAIM), the test checks the
    /// ring shows the claim at the tail, kills it there, and a live consumer
    /// then delivers every item once, intact, and the lane goes on.
    @Suite struct RingClaimRecoveryTests {
        /// A helper consumer of `ring` that takes `claims` − 1 items, then
        /// stops itself right after its next claim. Returns it once stopped,
        /// with the claimed tail position, after checking the claim is there.
        func consumerStoppedAfterItsClaim(_ ring: SharedRing, claims: Int) throws -> (HelperProcess, position: UInt64) {
            let claimant = try HelperProcess(["consume", "--count", "\(claims)"], ring: ring,
                                             environment: [RingTestHook.variable: "\(claims)"])
            let deadline = ContinuousClock.now + .seconds(60)
            while PeerLiveness.of(pid: claimant.pid, startTime: 0) != .stopped {
                guard ContinuousClock.now < deadline, claimant.child.isRunning else {
                    throw HelperFailure(message: "the claimant never stopped after its claim: \(claimant.stderr)")
                }
                usleep(1000)
            }
            let memory = ring.memory
            let tail = memory.lane(0).tail.pointee.load(ordering: .acquiring)
            let word = try #require(memory.claimantAtTail(of: 0, other: .own))
            #expect(PeerIdentity(word: word)?.pid == claimant.pid)
            #expect(tail == UInt64(claims - 1))
            return (claimant, tail)
        }

        /// The lane fills behind the dead claim; the live consumer (attached
        /// before the death) adopts the item at the tail, advances the tail
        /// itself and reads on: 40 items through 4 slots, each once.
        @Test func aConsumerKilledBetweenItsClaimAndItsAdvanceLosesNoItem() throws {
            try expectNoLeaks {
                let count = 40
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
                let producer = try HelperProcess(["produce", "--count", "\(count)"], ring: ring)
                let consumer = try ring.consumer()
                let (claimant, position) = try consumerStoppedAfterItsClaim(ring, claims: 3)
                try claimant.killAndReap()
                #expect(!claimant.stdout.contains("consumed"))
                var checker = ItemChecker()
                for _ in Int(position)..<count { try checker.check(consumer.next(timeout: .seconds(30))) }
                #expect(checker.seen == Set(Int(position)..<count))
                #expect(checker.duplicated == 0 && checker.corrupt == 0)
                #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
                #expect(throws: ConveyorError.self) { _ = try consumer.next(timeout: .milliseconds(20)) }
            }
        }

        /// Nobody signals the dead claim when the producer never blocks (3
        /// items in 4 slots, then finish): an ordered consumer that attaches
        /// after the death finds the claimant dead while it waits, adopts the
        /// item and reaches the end of the stream with every item.
        @Test func theEndOfTheStreamWaitsForADeadClaimantsItem() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
                let producer = try HelperProcess(["produce", "--count", "3", "--finish"], ring: ring)
                let (claimant, position) = try consumerStoppedAfterItsClaim(ring, claims: 1)
                #expect(position == 0)
                try claimant.killAndReap()
                #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
                let consumer = try ring.consumer(order: .ordered)
                var checker = ItemChecker()
                while let lease = try consumer.nextItem(timeout: .seconds(30)) { try checker.check(lease) }
                #expect(checker.seen == [0, 1, 2] && checker.duplicated == 0 && checker.corrupt == 0)
            }
        }

        /// A reset finds a dead consumer's claim at a lane's tail: it takes
        /// the claim over and discards that item with the others, and the
        /// lane serves the next stream.
        @Test func aResetDiscardsADeadClaimantsItem() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
                let first = try HelperProcess(["produce", "--count", "3", "--finish"], ring: ring)
                #expect(try first.child.wait(timeout: .seconds(30)) == .exited(0))
                let (claimant, _) = try consumerStoppedAfterItsClaim(ring, claims: 1)
                try claimant.killAndReap()
                ring.reset()
                #expect(ring.info.lanes[0].discarded == 3)
                let second = try HelperProcess(["produce", "--start", "100", "--count", "10", "--finish"], ring: ring)
                let consumer = try ring.consumer()
                var checker = ItemChecker()
                while let lease = try consumer.nextItem(timeout: .seconds(30)) { try checker.check(lease) }
                #expect(checker.seen == Set(100..<110) && checker.duplicated == 0 && checker.corrupt == 0)
                #expect(try second.child.wait(timeout: .seconds(30)) == .exited(0))
            }
        }
    }
}

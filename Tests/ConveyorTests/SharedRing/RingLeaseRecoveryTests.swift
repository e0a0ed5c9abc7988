import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// A consumer process killed (SIGKILL) while it holds a lease: the item
    /// it held goes to a live consumer, once, and its slot is freed, so the
    /// producer does not stall (FORMAT.md, *A consumer that dies holding an item*).
    @Suite struct RingLeaseRecoveryTests {
        /// A ring of 1 lane of 4 slots, a helper producer run with `produce`
        /// arguments, and a helper consumer that took item 0 and holds it.
        func ringWithAHeldItem(_ produce: [String]) throws -> (SharedRing, producer: HelperProcess, holder: HelperProcess) {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
            let producer = try HelperProcess(["produce"] + produce, ring: ring)
            let holder = try HelperProcess(["hold-lease"], ring: ring)
            #expect(try holder.waitForLine("holding") == "holding lane 0 position 0")
            return (ring, producer, holder)
        }

        /// The live consumer registered while the holder lived, so only the
        /// blocked producer's signal tells it of the death; ordered, it gets
        /// the dead consumer's item out of turn.
        @Test func aBlockedProducerHandsTheDeadHoldersItemToALiveConsumer() throws {
            try expectNoLeaks {
                let count = 40
                let (ring, producer, holder) = try ringWithAHeldItem(["--count", "\(count)"])
                let consumer = try ring.consumer(order: .ordered)
                try holder.killAndReap()
                var checker = ItemChecker()
                var order: [Int] = []
                for _ in 0..<count {
                    let k = try checker.check(consumer.next(timeout: .seconds(30)))
                    order.append(try #require(k))
                }
                #expect(checker.seen == Set(0..<count) && checker.duplicated == 0 && checker.corrupt == 0)
                #expect(order.first == 1 && order.contains(0))
                #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
                #expect(throws: ConveyorError.self) { _ = try consumer.next(timeout: .milliseconds(20)) }
            }
        }

        /// The dead consumer's table entry is taken by a new consumer before
        /// anyone scanned: the slot names the dead process, not the entry,
        /// so the newcomer adopts the item at registration.
        @Test func aNewConsumerInTheDeadOnesEntryAdoptsItsItem() throws {
            try expectNoLeaks {
                let count = 40
                let (ring, producer, holder) = try ringWithAHeldItem(["--count", "\(count)"])
                // Fill every other entry, so the next consumer can only reuse the dead one's.
                var fillers = try (1..<RingLayout.consumerCapacity).map { _ in try ring.consumer() }
                try holder.killAndReap()
                #expect(ring.info.consumerPIDs.contains(holder.pid))
                let consumer = try ring.consumer()
                #expect(!ring.info.consumerPIDs.contains(holder.pid))
                fillers.removeAll()
                var checker = ItemChecker()
                for _ in 0..<count { try checker.check(consumer.next(timeout: .seconds(30))) }
                #expect(checker.seen == Set(0..<count) && checker.duplicated == 0 && checker.corrupt == 0)
                #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
            }
        }

        /// Nobody signals a death when the producer never blocks: the end of
        /// the stream is not reported before the dead holder's item is delivered.
        @Test func theEndWaitsForTheDeadHoldersItem() throws {
            try expectNoLeaks {
                let (ring, producer, holder) = try ringWithAHeldItem(["--count", "3", "--finish"])
                let consumer = try ring.consumer()
                try holder.killAndReap()
                var checker = ItemChecker()
                while let lease = try consumer.nextItem(timeout: .seconds(30)) { try checker.check(lease) }
                #expect(checker.seen == [0, 1, 2] && checker.duplicated == 0 && checker.corrupt == 0)
                #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
            }
        }
    }
}

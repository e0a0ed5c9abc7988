import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// Edges of the ring's waits (docs/FORMAT.md, *Waiting* and *Consumer
    /// table*): a waiter learns of every change in whom it depends on.
    @Suite struct RingWaitEdgeTests {
        /// Waits (polling, at most 30 s) until a producer sleeps on `lane`'s `spaceSequence`.
        func waitForSleepingProducer(_ ring: SharedRing, lane: Int) throws {
            let sleepers = ring.memory.lane(lane).spaceEvent.sleepers
            let deadline = ContinuousClock.now + .seconds(30)
            while sleepers.pointee.load(ordering: .acquiring) == 0 {
                guard ContinuousClock.now < deadline else {
                    throw HelperFailure(message: "no producer slept on lane \(lane) within 30 s")
                }
                usleep(1000)
            }
        }

        /// A producer that blocked on a full lane before any consumer
        /// registered learns of the first consumer when it registers (its
        /// registration wakes blocked producers), so once that consumer dies
        /// holding an item the producer gives up with `.consumerGone` within
        /// its grace, not after its 60 s reserve timeout with `.timedOut`.
        @Test func aProducerBlockedBeforeTheFirstConsumerSeesThatConsumerDie() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
                // Five items into four slots: the fifth reserve (timeout 60 s) blocks with no consumer yet.
                let producer = try HelperProcess(["produce", "--count", "5"], ring: ring)
                try waitForSleepingProducer(ring, lane: 0)
                #expect(ring.memory.consumersEverAttached == 0)
                let holder = try HelperProcess(["hold-lease"], ring: ring)
                #expect(try holder.waitForLine("holding") == "holding lane 0 position 0")
                let killed = ContinuousClock.now
                try holder.killAndReap()
                let status = try producer.child.wait(timeout: .seconds(20))
                let waited = ContinuousClock.now - killed
                #expect(status == .exited(2))
                #expect(producer.stderr.contains("no consumer is attached any more"), "\(producer.stderr)")
                #expect(waited < .seconds(20), "the producer gave up \(waited) after the consumer died")
            }
        }
    }
}

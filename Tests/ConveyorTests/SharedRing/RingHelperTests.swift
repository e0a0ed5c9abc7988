import ConveyorTestDatasets
import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// The test helper itself, and items that hold 0 rows in a field, between real processes.
    @Suite struct RingHelperTests {
        @Test func aHoldingProducerKeepsItsLaneClaimed() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 4)
                let producer = try HelperProcess(["produce", "--lane", "1", "--count", "2", "--hold"], ring: ring)
                _ = try producer.waitForLine("produced")
                // Long after its last item, the lane still names the sleeping producer.
                for _ in 0..<5 {
                    #expect(ring.info.lanes[1].producerPID == producer.pid)
                    usleep(50_000)
                }
                #expect(producer.child.isRunning)
            }
        }

        @Test func itemsWithZeroRowsCrossBetweenProcessesIntact() throws {
            try expectNoLeaks {
                let items = TestItems(zeroRows: true)
                let count = 130  // covers every row count 0...64 of "f", and 0 int rows every fifth item
                #expect((0..<count).contains { items.floatRows($0, maximum: 64) == 0 && items.intRows($0, maximum: 4) == 0 })
                // A helper process produces them; this process checks them.
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
                let consumer = try ring.consumer()
                let producer = try HelperProcess(["produce", "--count", "\(count)", "--zero-rows"], ring: ring)
                var checker = ItemChecker(items: items)
                for _ in 0..<count { try checker.check(consumer.next(timeout: .seconds(30))) }
                #expect(checker.corrupt == 0 && checker.duplicated == 0)
                #expect(checker.seen.count + checker.empty == count && checker.empty > 0)
                #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
                // This process produces them; a helper process checks them (it once died of SIGILL on one).
                let consumerProcess = try HelperProcess(["consume", "--count", "\(count)", "--zero-rows"], ring: ring)
                let local = try ring.producer()
                for k in 0..<count {
                    var writer = try local.reserve(timeout: .seconds(30))
                    try items.write(k, into: &writer)
                    try writer.commit()
                }
                let line = try consumerProcess.waitForLine("consumed")
                #expect(line.hasPrefix("consumed \(count) corrupt 0 empty "))
                #expect(try consumerProcess.child.wait(timeout: .seconds(30)) == .exited(0))
            }
        }
    }
}

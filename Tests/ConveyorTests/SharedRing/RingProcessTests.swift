import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// Real producer and consumer processes (the helper executable), real signals.
    @Suite struct RingProcessTests {
        func expectDeath(
            _ consumer: RingConsumer, pid: Int32, lane: Int, status: String, checker: inout ItemChecker
        ) throws {
            while true {
                do {
                    try checker.check(consumer.next(timeout: .seconds(30)))
                } catch let error as ConveyorError {
                    #expect(error == .producerDied(pid: pid, lane: lane, status: status))
                    #expect("\(error)".contains("pid \(pid)") && "\(error)".contains("lane \(lane)"))
                    return
                }
            }
        }

        @Test func producerProcessesDeliverIntactItems() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 4)
                let consumer = try ring.consumer(order: .ordered)
                let producers = try (0..<2).map { w in
                    try HelperProcess(["produce", "--lane", "\(w)", "--start", "\(w * 1000)", "--count", "300"], ring: ring)
                }
                var checker = ItemChecker()
                for n in 0..<600 {
                    let k = try checker.check(consumer.next(timeout: .seconds(30), coldBoot: true))
                    // Ordered: lane n mod 2, that lane's (n / 2)-th item.
                    #expect(k == (n % 2) * 1000 + n / 2)
                }
                #expect(checker.corrupt == 0 && checker.duplicated == 0)
                for producer in producers {
                    #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
                }
            }
        }

        @Test func aKilledProducerIsReportedAfterItsItems() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
                let consumer = try ring.consumer()
                let producer = try HelperProcess(["produce", "--count", "3", "--hold"], ring: ring)
                _ = try producer.waitForLine("produced")
                try producer.child.kill()
                var checker = ItemChecker()
                try expectDeath(consumer, pid: producer.pid, lane: 0, status: "killed by signal 9 (SIGKILL)",
                                checker: &checker)
                #expect(checker.seen == [0, 1, 2] && checker.corrupt == 0)
                // Reported once; the lane is free again.
                #expect(ring.info.lanes[0].producerPID == nil)
                #expect(throws: ConveyorError.self) { _ = try consumer.next(timeout: .milliseconds(20)) }
            }
        }

        @Test func anExitStatusIsReported() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
            let consumer = try ring.consumer()
            let producer = try HelperProcess(["produce", "--count", "2", "--exit-code", "3"], ring: ring)
            var checker = ItemChecker()
            try expectDeath(consumer, pid: producer.pid, lane: 0, status: "exited with status 3", checker: &checker)
            #expect(checker.seen == [0, 1])
        }

        @Test func aNewProducerClaimsTheLaneOfADeadOne() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
            let consumer = try ring.consumer(order: .ordered)
            let first = try HelperProcess(["produce", "--count", "6", "--hold"], ring: ring)
            var checker = ItemChecker()
            for _ in 0..<2 { try checker.check(consumer.next(timeout: .seconds(30))) }
            _ = try first.waitForLine("produced")
            try first.child.kill()
            try expectDeath(consumer, pid: first.pid, lane: 0, status: "killed by signal 9 (SIGKILL)", checker: &checker)
            let second = try HelperProcess(["produce", "--start", "100", "--count", "5"], ring: ring)
            _ = try second.waitForLine("claimed lane 0")
            for _ in 0..<5 { try checker.check(consumer.next(timeout: .seconds(30))) }
            #expect(checker.seen == Set(0..<6).union(100..<105))
            #expect(checker.corrupt == 0 && checker.duplicated == 0)
            #expect(ring.info.lanes[0].committed == 11)
        }

        @Test func aStoppedProducerIsStalledNotDead() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
            let consumer = try ring.consumer()
            let producer = try HelperProcess(["produce", "--count", "1", "--hold"], ring: ring)
            var checker = ItemChecker()
            try checker.check(consumer.next(timeout: .seconds(30)))
            try producer.child.kill(SIGSTOP)
            defer { try? producer.child.kill(SIGCONT) }
            #expect(throws: ConveyorError.producerStalled(pid: producer.pid, lane: 0, waited: .milliseconds(200))) {
                _ = try consumer.next(timeout: .milliseconds(200))
            }
            #expect(ring.info.lanes[0].producerState == .stopped)
            #expect("\(ConveyorError.producerStalled(pid: 1, lane: 0, waited: .seconds(1)))".contains("alive"))
        }

        @Test func coldBootWaitsPastTheTimeoutForTheFirstItem() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
            let consumer = try ring.consumer()
            let producer = try HelperProcess(["produce", "--count", "2", "--delay-us", "300000"], ring: ring)
            var checker = ItemChecker()
            // The first item comes after 0.3 s, far beyond the 10 ms timeout.
            #expect(try checker.check(consumer.next(timeout: .milliseconds(10), coldBoot: true)) == 0)
            _ = producer
        }

        @Test func aDeadConsumerDoesNotStrandABlockedProducer() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let producer = try ring.producer()
            for k in 0..<2 {
                try producer.put([RingColumn([Float](repeating: Float(k), count: helperRows(k, maximum: 64))),
                                  RingColumn([Int32](repeating: Int32(k), count: 4))], timeout: .seconds(5))
            }
            let consumer = try HelperProcess(["hold-lease"], ring: ring)
            _ = try consumer.waitForLine("holding")
            try consumer.child.kill()
            _ = try consumer.child.wait(timeout: .seconds(30))
            let started = ContinuousClock.now
            #expect {
                _ = try producer.reserve(timeout: .seconds(60))
            } throws: { error in
                guard case ConveyorError.consumerGone = error else { return false }
                return true
            }
            #expect(ContinuousClock.now - started < .seconds(30))
        }

        @Test func aNamedRingWorksAcrossProcessesAndLeavesNothing() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4, naming: .named(nil))
                let consumer = try ring.consumer()
                let producer = try HelperProcess(["produce", "--name", ring.name!, "--count", "20"])
                var checker = ItemChecker()
                for _ in 0..<20 { try checker.check(consumer.next(timeout: .seconds(30))) }
                #expect(checker.seen == Set(0..<20) && checker.corrupt == 0)
                #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
            }
        }

        @Test func aStaleNamedSegmentOfADeadCreatorIsRemoved() throws {
            let creator = try HelperProcess(["create-named"])
            let name = String(try creator.waitForLine("created ").dropFirst("created ".count))
            #expect(SharedSegment.namedSegments(prefix: name) == [name])
            // While the creator lives, the segment is not stale.
            #expect(!SharedRing.removeStaleSegments().contains(name))
            try creator.child.kill()
            _ = try creator.child.wait(timeout: .seconds(30))
            #expect(SharedSegment.namedSegments(prefix: name) == [name])
            #expect(SharedRing.removeStaleSegments().contains(name))
            #expect(SharedSegment.namedSegments(prefix: name).isEmpty)
        }

        @Test func aWrongSchemaInTheChildIsItsClearError() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let child = try HelperProcess(["attach", "--floats", "65"], ring: ring)
            #expect(try child.child.wait(timeout: .seconds(30)) == .exited(2))
            #expect(child.stderr.contains("schema"))
        }
    }
}

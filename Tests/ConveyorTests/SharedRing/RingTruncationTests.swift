import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// A named segment's file shrunk under attached processes (by anyone who
    /// can write it): each gets `.segmentTruncated`, none dies of SIGBUS, and
    /// the process's other rings go on.
    @Suite struct RingTruncationTests {
        /// Shrinks the named segment `name` to 0 bytes through a descriptor of its own.
        func shrink(_ name: String) throws {
            let file = try SystemCalls.shmOpen(name, create: false)
            defer { SystemCalls.close(file) }
            try SystemCalls.truncate(file, size: 0)
        }

        func waitUntil(_ what: String, _ condition: () -> Bool) throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while !condition() {
                guard ContinuousClock.now < deadline else { throw HelperFailure(message: "timed out waiting until \(what)") }
                usleep(1000)
            }
        }

        func expectTruncationError(_ process: HelperProcess, _ what: String) throws {
            #expect(try process.child.wait(timeout: .seconds(30)) == .exited(2), "\(what): \(process.stderr)")
            #expect(process.stderr.contains("truncated"), "\(what): \(process.stderr)")
        }

        /// A producer process asleep on a full lane and a consumer process
        /// asleep on an empty ring touch nothing when the files shrink: the
        /// watcher tells them. This process's own consumer of the shrunk ring
        /// gets the error; its anonymous ring keeps working.
        @Test func sleepingPeersOfAShrunkSegmentGetAnErrorNotSIGBUS() throws {
            let full = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2, naming: .named(privateSegmentName()))
            let empty = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2, naming: .named(privateSegmentName()))
            let producer = try HelperProcess(["produce", "--name", full.name!, "--count", "3"])
            let consumer = try HelperProcess(["consume", "--name", empty.name!, "--count", "1", "--timeout-ms", "30000"])
            try waitUntil("the producer filled its lane") { full.info.lanes[0].depth == 2 }
            try waitUntil("the consumer attached") { empty.info.consumerPIDs == [consumer.pid] }
            // Weak: the thread's closure may outlive the join, and must not keep the ring (and its name) alive.
            let waiter = TestThread { [weak empty] () -> String in
                do {
                    guard let empty else { return "no ring" }
                    _ = try empty.consumer().next(timeout: .seconds(30))
                    return "an item"
                } catch {
                    return "\(error)"
                }
            }
            try waitUntil("this process's consumer attached") { empty.info.consumerPIDs.count == 2 }
            usleep(100_000)  // all asleep now
            let other = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            try shrink(full.name!)
            try shrink(empty.name!)
            try expectTruncationError(producer, "blocked producer")
            try expectTruncationError(consumer, "waiting consumer")
            #expect(try waiter.join().contains("truncated"))
            #expect(full.isTruncated && empty.isTruncated)
            // Touching the lost pages reads zeros instead of killing this process.
            #expect(full.memory.slot(lane: 0, position: 1).sequence.pointee.load(ordering: .acquiring) == 0)
            #expect(throws: ConveyorError.segmentTruncated(segment: "/dev/shm/\(full.name!)")) { _ = try full.producer() }
            #expect(throws: ConveyorError.segmentTruncated(segment: "/dev/shm/\(empty.name!)")) { _ = try empty.consumer() }
            let put = try other.producer()
            try put.put([RingColumn([Float](repeating: 1, count: 1)), RingColumn([Int32](repeating: 1, count: 4))],
                        timeout: .seconds(5))
            #expect(try other.consumer().next(timeout: .seconds(5)).rows(of: 0) == 1)
        }

        /// Peers caught in the middle of copying a 4 MiB item (the producer
        /// writing it, this process reading one) when the file shrinks: the
        /// copy completes on zeros and the next ring operation throws.
        @Test func peersMidCopyOfAShrunkSegmentGetAnErrorNotSIGBUS() throws {
            let name = try shrinkMidCopy()
            // The ring is gone with its last reference, and its creator removed its name.
            #expect(SharedSegment.namedSegments(prefix: name).isEmpty)
        }

        /// The mid-copy test; returns the segment's name once the ring is released.
        func shrinkMidCopy() throws -> String {
            let floats = 1 << 20
            let ring = try SharedRing.create(schema: helperSchema(floats: floats), lanes: 1, slotsPerLane: 2,
                                             naming: .named(privateSegmentName()))
            let name = ring.name!
            let producer = try HelperProcess(["produce", "--name", name, "--floats", "\(floats)", "--count", "1000000"])
            let reader = TestThread { [weak ring] () -> (items: Int, error: String) in
                guard let consumer = try ring?.consumer() else { return (0, "no ring") }
                var items = 0
                do {
                    while true {
                        let lease = try consumer.next(timeout: .seconds(30), coldBoot: true)
                        // Read every byte: a shrink now faults here.
                        _ = try lease.withSpan(of: 0, as: Float.self) { span in
                            var sum: Float = 0
                            for index in span.indices { sum += span[index] }
                            return sum
                        }
                        items += 1
                    }
                } catch {
                    return (items, "\(error)")
                }
            }
            try waitUntil("items flow") { ring.info.lanes[0].consumed >= 20 }
            try shrink(name)
            let (items, error) = try reader.join()
            #expect(items >= 20)
            #expect(error.contains("truncated"), "\(error)")
            try expectTruncationError(producer, "producer mid-copy")
            return name
        }
    }
}

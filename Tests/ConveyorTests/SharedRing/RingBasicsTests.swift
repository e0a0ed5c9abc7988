import Testing
import Foundation
@testable import Conveyor

extension SharedRingTests {
    /// One process as both producer and consumer: the protocol without processes.
    @Suite struct RingBasicsTests {
        func put(_ producer: RingProducer, _ k: Int, floats: Int? = nil, timeout: Duration = .seconds(5)) throws {
            let maximum = producer.ring.schema.fields[0].maxRows
            let ints = producer.ring.schema.fields[1].maxRows
            try producer.put([RingColumn([Float](repeating: Float(k), count: floats ?? helperRows(k, maximum: maximum))),
                              RingColumn([Int32](repeating: Int32(k), count: ints))], timeout: timeout)
        }

        @Test func itemsRoundTripWithTheirOwnLengths() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
                let producer = try ring.producer()
                let consumer = try ring.consumer()
                var checker = ItemChecker()
                for k in 0..<50 {
                    try put(producer, k)
                    let lease = try consumer.next(timeout: .seconds(5))
                    #expect(try checker.check(lease) == k)
                    #expect(try lease.rows(of: "f") == helperRows(k, maximum: 64))
                }
                #expect(checker.corrupt == 0 && checker.duplicated == 0)
            }
        }

        /// A producer that dies between publishing an item (step 4) and storing
        /// `head` (step 5) leaves `head` one short; `info` still counts the item
        /// committed, before and after a consumer took it (the torture suite's
        /// count check saw "76 delivered, but 75 committed").
        @Test func infoCountsAnItemPublishedBeforeHeadWasStored() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let producer = try ring.producer()
            let consumer = try ring.consumer()
            try put(producer, 0)
            try put(producer, 1)
            // The state a death between the two stores leaves: item 1 published, head still 1.
            ring.memory.lane(0).head.pointee.store(1, ordering: .releasing)
            #expect(ring.info.lanes[0].committed == 2 && ring.info.lanes[0].depth == 2)
            _ = try consumer.next(timeout: .seconds(1))
            _ = try consumer.next(timeout: .seconds(1))
            #expect(ring.info.lanes[0].committed == 2 && ring.info.lanes[0].depth == 0)
        }

        @Test func writerFillsInPlaceAndDiscardPublishesNothing() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let producer = try ring.producer()
            let consumer = try ring.consumer()
            do {
                var writer = try producer.reserve(timeout: .seconds(1))
                try writer.withMutableSpan(of: "f", as: Float.self) { span in span[0] = 99 }
                try writer.setRows(1, of: "f")
                writer.discard()
            }
            #expect(throws: ConveyorError.self) { _ = try consumer.next(timeout: .milliseconds(20)) }
            var writer = try producer.reserve(timeout: .seconds(1))
            try writer.withMutableSpan(of: "f", as: Float.self) { span in span[0] = 7; span[1] = 8 }
            try writer.setRows(2, of: "f")
            try writer.commit()
            let lease = try consumer.next(timeout: .seconds(1))
            let values = try lease.withSpan(of: "f", as: Float.self) { span in (0..<span.count).map { span[$0] } }
            #expect(values == [7, 8])
        }

        @Test func tooLargeItemIsAnErrorAndNothingIsPublished() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let producer = try ring.producer()
            let consumer = try ring.consumer()
            #expect(throws: ConveyorError.itemTooLarge(field: "f", length: 65, maximum: 64)) {
                try put(producer, 1, floats: 65)
            }
            var writer = try producer.reserve(timeout: .seconds(1))
            #expect(throws: ConveyorError.itemTooLarge(field: "i", length: 5, maximum: 4)) { try writer.setRows(5, of: "i") }
            do {
                try writer.commit()
                Issue.record("a commit after a failed setRows published the item")
            } catch {
                #expect(error == .itemTooLarge(field: "i", length: 5, maximum: 4))
            }
            #expect(ring.info.lanes[0].committed == 0)
            #expect(throws: ConveyorError.self) { _ = try consumer.next(timeout: .milliseconds(10)) }
        }

        @Test func wrongTypesAndNamesAreClearErrors() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let producer = try ring.producer()
            var writer = try producer.reserve(timeout: .seconds(1))
            #expect(throws: ConveyorError.self) { try writer.withMutableSpan(of: "f", as: Int32.self) { _ in } }
            #expect(throws: ConveyorError.self) { try writer.withMutableSpan(of: "nope", as: Float.self) { _ in } }
            #expect(throws: ConveyorError.self) { try writer.setRows(-1, of: 0) }
            #expect(throws: ConveyorError.self) { _ = try producer.reserve(timeout: .zero) }
            writer.discard()
            #expect(throws: ConveyorError.self) {
                try producer.put([RingColumn([Int32(1)]), RingColumn([Int32(1)])], timeout: .zero)
            }
            #expect(throws: ConveyorError.self) { try producer.put([RingColumn([Float(1)])], timeout: .zero) }
        }

        @Test func fullLaneTimesOutAndLeaseHoldsItsSlot() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let producer = try ring.producer()
            let consumer = try ring.consumer()
            try put(producer, 0)
            try put(producer, 1)
            #expect(throws: ConveyorError.self) { try put(producer, 2, floats: 1, timeout: .milliseconds(20)) }
            var lease: RingLease? = try consumer.next(timeout: .seconds(1))
            // The leased slot stays the consumer's: the producer may not overwrite it.
            #expect(throws: ConveyorError.self) {
                _ = try producer.reserve(timeout: .milliseconds(20))
            }
            #expect(try lease?.withSpan(of: 1, as: Int32.self) { $0[0] } == 0)
            lease = nil
            try put(producer, 2)
            #expect(ring.info.lanes[0].depth == 2)
        }

        @Test func orderedModeReadsLanesRoundRobin() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 3, slotsPerLane: 4)
            let producers = try (0..<3).map { try ring.producer(lane: $0) }
            let consumer = try ring.consumer(order: .ordered)
            // Lanes fill in the reverse order; the consumer still sees 0, 1, 2, ...
            for w in [2, 1, 0] {
                for k in 0..<4 { try put(producers[w], k * 3 + w) }
            }
            var checker = ItemChecker()
            for expected in 0..<12 {
                let lease = try consumer.next(timeout: .seconds(1))
                #expect(lease.lane == expected % 3)
                #expect(try checker.check(lease) == expected)
            }
            #expect(checker.corrupt == 0)
        }

        @Test func unorderedModeTakesWhicheverLaneIsReady() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 4)
            let first = try ring.producer(lane: 0)
            let second = try ring.producer(lane: 1)
            _ = first
            try put(second, 5)
            let consumer = try ring.consumer()
            let lease = try consumer.next(timeout: .seconds(1))
            #expect(lease.lane == 1)
        }

        @Test func lanesAreClaimedOnceAndFreedWithTheirProducer() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            var producer: RingProducer? = try ring.producer()
            #expect(throws: ConveyorError.self) { _ = try ring.producer() }
            #expect(throws: ConveyorError.self) { _ = try ring.producer(lane: 3) }
            try put(producer!, 0)
            producer = nil
            let again = try ring.producer(lane: 0)
            try put(again, 1)
            #expect(ring.info.lanes[0].committed == 2)
        }

        @Test func resetEmptiesTheRingAndTellsTheBlockedProducer() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let consumer = try ring.consumer()
            let blocked = TestThread { () -> ConveyorError? in
                do {
                    let producer = try ring.producer()
                    for k in 0..<3 { try RingBasicsTests().put(producer, k) }
                    return nil
                } catch let error as ConveyorError {
                    return error
                }
            }
            // Wait until the producer blocks on its full lane, then reset.
            let deadline = ContinuousClock.now + .seconds(20)
            while ring.info.lanes[0].committed < 2, ContinuousClock.now < deadline { usleep(2000) }
            usleep(20_000)
            ring.reset()
            #expect(try blocked.join() == .ringReset)
            #expect(ring.info.depth == 0)
            #expect(ring.info.lanes[0].discarded == 2)
            #expect(ring.info.resets == 1)
            #expect(throws: ConveyorError.self) { _ = try consumer.next(timeout: .milliseconds(10)) }
            // The ring works after the reset.
            let producer = try ring.producer()
            try put(producer, 9)
            var checker = ItemChecker()
            #expect(try checker.check(consumer.next(timeout: .seconds(1))) == 9)
        }

        @Test func severalConsumersShareTheItemsExactlyOnce() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 4)
            let total = 2_000
            let producers = (0..<2).map { w in
                TestThread {
                    let producer = try ring.producer(lane: w)
                    for k in stride(from: w, to: total, by: 2) { try RingBasicsTests().put(producer, k) }
                }
            }
            let consumers = (0..<3).map { _ in
                TestThread { () -> ItemChecker in
                    let consumer = try ring.consumer()
                    var checker = ItemChecker()
                    while true {
                        do {
                            try checker.check(consumer.next(timeout: .seconds(1)))
                        } catch ConveyorError.timedOut, ConveyorError.producerStalled {
                            return checker
                        }
                    }
                }
            }
            for producer in producers { try producer.join() }
            var seen: [Int] = []
            for consumer in consumers {
                let checker = try consumer.join()
                #expect(checker.corrupt == 0 && checker.duplicated == 0)
                seen += checker.seen
            }
            #expect(seen.count == total)
            #expect(Set(seen) == Set(0..<total))
        }

        @Test func infoReportsLanesAndConsumers() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 3)
            let producer = try ring.producer(lane: 1)
            let consumer = try ring.consumer()
            try put(producer, 0)
            try put(producer, 1)
            _ = try consumer.next(timeout: .seconds(1))
            let info = ring.info
            #expect(info.lanes[0].producerPID == nil)
            #expect(info.lanes[1].producerPID == SystemCalls.processID())
            #expect(info.lanes[1].producerState == .running)
            #expect(info.lanes[1].committed == 2 && info.lanes[1].consumed == 1 && info.lanes[1].depth == 1)
            #expect(info.capacity == 6)
            #expect(info.consumerPIDs == [SystemCalls.processID()])
            #expect(info.description.contains("1/6"))
        }

        @Test func infoEncodesAsItsDocumentedJSON() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 3)
            let producer = try ring.producer(lane: 1)
            try put(producer, 0)
            let data = try JSONEncoder().encode(ring.info)
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(Set(json.keys) == ["depth", "capacity", "resets", "consumerPIDs", "byteCount", "lanes"])
            #expect(json["depth"] as? Int == 1 && json["capacity"] as? Int == 6 && json["byteCount"] as? Int == ring.byteCount)
            let lanes = try #require(json["lanes"] as? [[String: Any]])
            try #require(lanes.count == 2)
            // A free lane has no producer keys; a claimed one has them all.
            #expect(Set(lanes[0].keys) == ["lane", "depth", "capacity", "committed", "consumed", "discarded", "finished"])
            #expect(Set(lanes[1].keys) == ["lane", "producerPID", "producerState", "depth", "capacity", "committed",
                                           "consumed", "discarded", "sinceClaimSeconds", "finished"])
            #expect(lanes[1]["producerPID"] as? Int == Int(SystemCalls.processID()))
            #expect(lanes[1]["producerState"] as? String == "running")
            #expect(lanes[1]["committed"] as? Int == 1 && lanes[1]["finished"] as? Bool == false)
            #expect((lanes[1]["sinceClaimSeconds"] as? Double ?? -1) >= 0)
        }

        @Test func noProducerMeansAPlainTimeout() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let consumer = try ring.consumer()
            #expect {
                _ = try consumer.next(timeout: .milliseconds(30))
            } throws: { error in
                guard case ConveyorError.timedOut = error else { return false }
                return true
            }
        }

        @Test func badShapesAreRejectedAtCreation() throws {
            let schema = try helperSchema()
            #expect(throws: ConveyorError.self) { _ = try SharedRing.create(schema: schema, lanes: 0, slotsPerLane: 2) }
            #expect(throws: ConveyorError.self) { _ = try SharedRing.create(schema: schema, lanes: 1, slotsPerLane: 1) }
            let long = try Schema([Field(String(repeating: "x", count: 48), .uint8, shape: [1])])
            #expect(throws: ConveyorError.self) { _ = try SharedRing.create(schema: long, lanes: 1, slotsPerLane: 2) }
            let huge = try Schema([Field("x", .float64, shape: [1 << 30, 1 << 30])])
            #expect(throws: ConveyorError.self) { _ = try SharedRing.create(schema: huge, lanes: 1, slotsPerLane: 2) }
        }

        @Test func everyDTypeHasAScalarType() throws {
            let fields = DType.allCases.map { Field($0.rawValue, $0, shape: [3]) }
            let ring = try SharedRing.create(schema: Schema(fields), lanes: 1, slotsPerLane: 2)
            let producer = try ring.producer()
            let consumer = try ring.consumer()
            let writer = try producer.reserve(timeout: .seconds(1))
            func fill<T: DTypeScalar & Numeric>(_ writer: borrowing RingWriter, _ type: T.Type) throws {
                try writer.withMutableSpan(of: T.dtype.rawValue, as: type) { span in span[2] = 3 }
            }
            try fill(writer, UInt8.self); try fill(writer, Int8.self); try fill(writer, Int16.self)
            try fill(writer, UInt16.self); try fill(writer, Int32.self); try fill(writer, UInt32.self)
            try fill(writer, Int64.self); try fill(writer, UInt64.self); try fill(writer, Float16.self)
            try fill(writer, Float.self); try fill(writer, Double.self)
            try writer.commit()
            let lease = try consumer.next(timeout: .seconds(1))
            #expect(try lease.withSpan(of: "f16", as: Float16.self) { $0[2] } == 3)
            #expect(try lease.withSpan(of: "u64", as: UInt64.self) { $0[2] } == 3)
            #expect(try lease.withUnsafeBytes(of: 0) { $0.count } == 3)
        }
    }
}

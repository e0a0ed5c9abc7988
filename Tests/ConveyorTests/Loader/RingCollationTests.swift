import Testing
@testable import Conveyor

@Suite struct RingCollationTests {
    /// The same dataset, collated into arrays and into a shared-ring slot, gives the same bytes and rows.
    @Test func aSlotHoldsWhatTheArrayBatchHolds() throws {
        let dataset = TokenDataset(count: 8)
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 4)
        let context = SampleContext(seed: 1, epoch: 0, worker: 0)
        let expected = try layout.collate(dataset, indices: [5, 2, 7], context: context, batchIndex: 0)

        let ring = try SharedRing.create(schema: layout.batchSchema, lanes: 1, slotsPerLane: 2)
        let producer = try ring.producer()
        var writer = try producer.reserve(timeout: .seconds(5))
        try layout.collate(dataset, indices: [5, 2, 7], context: context, into: &writer)
        try writer.commit()

        let consumer = try ring.consumer()
        let lease = try consumer.next(timeout: .seconds(5))
        #expect(try lease.rows(of: "tokens") == 3)
        #expect(try lease.withUnsafeBytes(of: 0) { Array($0) } == expected["tokens"]!.bytes)
        #expect(try lease.withUnsafeBytes(of: 1) { Array($0) } == expected["id"]!.bytes)
        let rows = try lease.withUnsafeBufferPointer(of: 2, as: Int32.self) { Array($0) }
        #expect(rows.map(Int.init) == expected.rows(of: "tokens"))
        lease.release()
    }

    @Test func aRingOfAnotherSchemaIsRefused() throws {
        let dataset = TokenDataset(count: 8)
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 4)
        let other = try BatchLayout(sampleSchema: dataset.schema, batchSize: 2)
        let ring = try SharedRing.create(schema: other.batchSchema, lanes: 1, slotsPerLane: 2)
        let producer = try ring.producer()
        var writer = try producer.reserve(timeout: .seconds(5))
        #expect(throws: ConveyorError.self) {
            try layout.collate(dataset, indices: [0], context: SampleContext(), into: &writer)
        }
        writer.discard()
    }
}

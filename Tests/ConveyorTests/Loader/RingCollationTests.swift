import Testing
@testable import Conveyor

/// Sample `i`: "tokens" i32[4] using `i % 5` rows (each `i + 1`), "id" i64 = `i`; written a batch at a
/// time, only the rows each sample uses, saying so or not (`writesEveryUsedByte`).
private struct UsedRowsDataset: SchemaDataset {
    var count: Int
    var writesEveryUsedByte: Bool
    var schema: Schema { try! Schema([Field("tokens", .int32, shape: [4]), Field("id", .int64, shape: [])]) }

    func sample(at index: Int) throws -> Sample {
        throw ConveyorError.unavailable("written a batch at a time only")
    }

    func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws {
        let tokenBytes = batch.sampleBytes(of: 0)
        for (position, index) in indices.enumerated() {
            batch.withUnsafeMutableBytes(of: 0) { bytes in
                for row in 0..<(index % 5) {
                    bytes.storeBytes(of: Int32(index + 1), toByteOffset: position * tokenBytes + row * 4, as: Int32.self)
                }
            }
            try batch.setRows(index % 5, of: 0, sample: position)
            batch.withUnsafeMutableBytes(of: 1) { $0.storeBytes(of: Int64(index), toByteOffset: position * 8, as: Int64.self) }
        }
    }
}

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

    /// A slot is reused: what an earlier batch left there never shows, in
    /// the rows a sample did not use, whether the dataset says it writes
    /// every byte it uses (only the unused rows are zeroed) or not (the
    /// whole batch is zeroed first).
    @Test(arguments: [true, false]) func aReusedSlotShowsNothingOfTheBatchBefore(writesEveryUsedByte: Bool) throws {
        let dataset = UsedRowsDataset(count: 12, writesEveryUsedByte: writesEveryUsedByte)
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 4)
        let ring = try SharedRing.create(schema: layout.batchSchema, lanes: 1, slotsPerLane: 2)
        let producer = try ring.producer()
        let consumer = try ring.consumer()
        for _ in 0..<2 {  // both slots hold -1s everywhere, read and released
            let stale = try producer.reserve(timeout: .seconds(5))
            try stale.withUnsafeMutableBufferPointer(of: 0, as: Int32.self) { $0.initialize(repeating: -1) }
            try stale.withUnsafeMutableBufferPointer(of: 1, as: Int64.self) { $0.initialize(repeating: -1) }
            try stale.withUnsafeMutableBufferPointer(of: 2, as: Int32.self) { $0.initialize(repeating: -1) }
            try stale.commit()
            try consumer.next(timeout: .seconds(5)).release()
        }

        let indices: ArraySlice<Int> = [4, 0, 7, 3]  // 4, 0, 2 and 3 rows of 4
        let context = SampleContext(seed: 1, epoch: 0, worker: 0)
        var writer = try producer.reserve(timeout: .seconds(5))
        try layout.collate(dataset, indices: indices, context: context, into: &writer)
        try writer.commit()
        let lease = try consumer.next(timeout: .seconds(5))
        let tokens = try lease.withUnsafeBufferPointer(of: 0, as: Int32.self) { Array($0) }
        #expect(tokens == [5, 5, 5, 5, 0, 0, 0, 0, 8, 8, 0, 0, 4, 4, 4, 0])
        #expect(try lease.withUnsafeBufferPointer(of: 1, as: Int64.self) { Array($0) } == [4, 0, 7, 3])
        #expect(try lease.withUnsafeBufferPointer(of: 2, as: Int32.self) { Array($0) } == [4, 0, 2, 3])
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

import Foundation
import Testing
@testable import Conveyor

/// A dataset with only a batch path: each sample's "values" field holds
/// `index % 3` rows equal to the index, and "id" the index.
struct BatchOnlyDataset: SchemaDataset {
    var count: Int
    var schema: Schema { try! Schema([Field("values", .int32, shape: [2]), Field("id", .int64, shape: [])]) }

    func sample(at index: Int) throws -> Sample {
        Issue.record("the batch path must not fall back to sample(at:)")
        return Sample([:])
    }

    func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws {
        for (position, index) in indices.enumerated() {
            guard index < count else { throw context.blamingIndex(index) }
            let rows = Swift.min(index % 3, 2)
            batch.withUnsafeMutableBytes(of: 0) { bytes in
                let values = bytes.bindMemory(to: Int32.self)
                for row in 0..<rows { values[position * 2 + row] = Int32(index) }
            }
            try batch.setRows(rows, of: 0, sample: position)
            batch.withUnsafeMutableBytes(of: 1) { $0.storeBytes(of: Int64(index), toByteOffset: position * 8, as: Int64.self) }
        }
    }
}

extension SampleContext {
    /// `.sourceFailed` naming `index`, as a batch path reports a bad index.
    func blamingIndex(_ index: Int) -> ConveyorError {
        ConveyorError(blaming: ConveyorError.invalidArgument("no sample \(index)"), index: index, worker: worker)
    }
}

@Suite struct BatchPathTests {
    /// Two .npy files (i32[5, 2] and i64[5]) in a fresh directory.
    static func twoColumns() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write(NumpyDatasetTests.npy(
            header: "{'descr': '<i4', 'fortran_order': False, 'shape': (5, 2), }",
            data: (0..<10).flatMap { value in withUnsafeBytes(of: Int32(value).littleEndian) { Array($0) } }),
            to: "x.npy")
        try directory.write(NumpyDatasetTests.npy(
            header: "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }",
            data: (0..<5).flatMap { value in withUnsafeBytes(of: Int64(100 + value).littleEndian) { Array($0) } }),
            to: "y.npy")
        return directory
    }

    @Test func numpyColumnsAreOneDataset() throws {
        let directory = try Self.twoColumns()
        defer { directory.remove() }
        let dataset = try NumpyDataset(columns: ["x": directory.path + "/x.npy", "y": directory.path + "/y.npy"])
        #expect(dataset.count == 5)
        #expect(dataset.schema == (try Schema([Field("x", .int32, shape: [2]), Field("y", .int64, shape: [])])))
        let sample = try dataset.sample(at: 3)
        #expect(try sample["x"]?.scalars(as: Int32.self) == [6, 7])
        #expect(try sample["y"]?.scalar(as: Int64.self) == 103)
    }

    @Test func numpyBatchPathEqualsThePerSamplePath() throws {
        let directory = try Self.twoColumns()
        defer { directory.remove() }
        let dataset = try NumpyDataset(columns: ["x": directory.path + "/x.npy", "y": directory.path + "/y.npy"])
        let perSample = dataset.map { sample, _ in sample }  // a transform has only the per-sample path
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 4)
        let context = SampleContext(seed: 3, epoch: 1)
        let gathered = try layout.collate(dataset, indices: [4, 0, 2], context: context, batchIndex: 7)
        let oneByOne = try layout.collate(perSample, indices: [4, 0, 2], context: context, batchIndex: 7)
        #expect(gathered == oneByOne)
        #expect(try gathered["x"]?.scalars(as: Int32.self) == [8, 9, 0, 1, 4, 5])
        #expect(try gathered["y"]?.scalars(as: Int64.self) == [104, 100, 102])
        #expect(gathered.rows == [[2, 2, 2], [1, 1, 1]])
    }

    @Test func aBadIndexInTheBatchPathIsBlamedOnIt() throws {
        let directory = try Self.twoColumns()
        defer { directory.remove() }
        let dataset = try NumpyDataset(columns: ["x": directory.path + "/x.npy", "y": directory.path + "/y.npy"])
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 4)
        let error = #expect(throws: ConveyorError.self) {
            try layout.collate(dataset, indices: [1, 5], context: SampleContext(worker: 1), batchIndex: 0)
        }
        guard case let .sourceFailed(index, worker, message)? = error else {
            Issue.record("expected sourceFailed, got \(String(describing: error))")
            return
        }
        #expect(index == 5 && worker == 1)
        #expect(message.contains("0..<5"))
    }

    @Test func numpyColumnsMustShareTheirFirstDimension() throws {
        let directory = try Self.twoColumns()
        defer { directory.remove() }
        try directory.write(NumpyDatasetTests.npy(
            header: "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }", data: [UInt8](repeating: 0, count: 32)),
            to: "short.npy")
        let error = #expect(throws: ConveyorError.self) {
            try NumpyDataset(columns: ["x": directory.path + "/x.npy", "y": directory.path + "/short.npy"])
        }
        #expect(error?.description.contains("same first dimension") == true)
        #expect(throws: ConveyorError.self) { try NumpyDataset(columns: [:]) }
    }

    @Test func numpyDescriptionWithColumnsRoundTripsAndMakesTheDataset() throws {
        let directory = try Self.twoColumns()
        defer { directory.remove() }
        let description = NumpyDataset.Description(columns: ["x": directory.path + "/x.npy", "y": directory.path + "/y.npy"])
        let decoded = try JSONDecoder().decode(NumpyDataset.Description.self, from: JSONEncoder().encode(description))
        #expect(decoded == description)
        #expect(decoded.path == directory.path + "/x.npy" && decoded.field == "x")
        #expect(try decoded.makeDataset().schema.fields.map(\.name) == ["x", "y"])
        let single = NumpyDataset.Description(path: directory.path + "/x.npy")
        #expect(single.columns == [.init(field: "data", path: directory.path + "/x.npy")])
    }

    @Test func tensorDatasetBatchPathEqualsThePerSamplePath() throws {
        let dataset = try TensorDataset([
            "x": try Tensor((0..<12).map(Float.init), shape: [6, 2]), "y": try Tensor((0..<6).map(Int16.init), shape: [6]),
        ])
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 3)
        let gathered = try layout.collate(dataset, indices: [5, 1, 3], context: SampleContext(), batchIndex: 0)
        let oneByOne = try layout.collate(dataset.map { sample, _ in sample }, indices: [5, 1, 3], context: SampleContext(),
                                          batchIndex: 0)
        #expect(gathered == oneByOne)
        #expect(try gathered["y"]?.scalars(as: Int16.self) == [5, 1, 3])
        #expect(throws: ConveyorError.self) {
            try layout.collate(dataset, indices: [6], context: SampleContext(), batchIndex: 0)
        }
    }

    @Test func aDatasetsOwnBatchPathSetsRowsAndZeroesTheRest() throws {
        let dataset = BatchOnlyDataset(count: 6)
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 4)
        let batch = try layout.collate(dataset, indices: [1, 2, 3, 5], context: SampleContext(), batchIndex: 0)
        #expect(batch.rows(of: "values") == [1, 2, 0, 2])
        #expect(batch.rows(of: "id") == [1, 1, 1, 1])
        #expect(try batch["values"]?.scalars(as: Int32.self) == [1, 0, 2, 2, 0, 0, 5, 5])
        #expect(try batch["id"]?.scalars(as: Int64.self) == [1, 2, 3, 5])
        let error = #expect(throws: ConveyorError.self) {
            try layout.collate(dataset, indices: [0, 9], context: SampleContext(), batchIndex: 0)
        }
        if case let .sourceFailed(index, _, _)? = error { #expect(index == 9) } else { Issue.record("got \(String(describing: error))") }
    }

    @Test func aBatchWriterRefusesRowsBeyondTheField() throws {
        let schema = try Schema([Field("values", .int32, shape: [2])])
        var bytes = [UInt8](repeating: 0, count: 16)
        try bytes.withUnsafeMutableBytes { buffer in
            _ = try BatchWriter.with(schema: schema, count: 2, fields: [buffer]) { batch in
                #expect(throws: ConveyorError.self) { try batch.setRows(3, of: 0, sample: 0) }
                #expect(throws: ConveyorError.self) { try batch.setRows(1, of: 0, sample: 2) }
                #expect(throws: ConveyorError.self) { try batch.setRows(-1, of: 0, sample: 1) }
                try batch.withSample(1) { sample in
                    try sample.withUnsafeMutableBufferPointer(of: "values", as: Int32.self) { $0[0] = 7 }
                    try sample.setRows(1, of: "values")
                }
                #expect(batch.rows == [[2, 1]])
            }
        }
        #expect(bytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) } == [0, 0, 7, 0])
    }

    @Test func arrayDatasetGathersABatchAndBlamesABadIndex() throws {
        let dataset = ArrayDataset(["a", "b", "c"])
        #expect(try dataset.samples(at: [2, 0], context: SampleContext()) == ["c", "a"])
        let error = #expect(throws: ConveyorError.self) { try dataset.samples(at: [1, 3], context: SampleContext()) }
        if case let .sourceFailed(index, _, _)? = error { #expect(index == 3) } else { Issue.record("got \(String(describing: error))") }
    }

    @Test func perItemGeneratorsMatchTheirPathForms() {
        for seed: UInt64 in [0, 7, .max] {
            for index in [0, 1, 59_999] {
                var two = SeededRandom(seed: seed, steps: 3, index)
                var twoPath = SeededRandom(seed: seed, path: [3, index])
                #expect(two == twoPath && two.next() == twoPath.next())
            }
        }
    }
}

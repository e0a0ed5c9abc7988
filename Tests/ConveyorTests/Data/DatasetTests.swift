import Foundation
import Testing
@testable import Conveyor

/// A dataset with a variable-length field: sample i has i % 4 tokens, each i.
struct TokenDataset: SchemaDataset {
    var count: Int
    var schema: Schema { try! Schema([Field("tokens", .int32, shape: [3]), Field("id", .int64, shape: [])]) }

    func sample(at index: Int) throws -> Sample {
        Sample([
            "tokens": try Tensor([Int32](repeating: Int32(index), count: index % 4), shape: [index % 4]),
            "id": Tensor(scalar: Int64(index)),
        ])
    }
}

@Suite struct DatasetTests {
    @Test func directoryListsFilteredFilesInSortedOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write([1, 2, 3], to: "b.bin")
        try directory.write([4], to: "a.bin")
        try directory.write([5, 6], to: "sub/c.bin")
        try directory.write([7], to: "skip.txt")
        let dataset = try DirectoryDataset(path: directory.path) { $0.hasSuffix(".bin") }
        #expect(dataset.relativePaths == ["a.bin", "b.bin", "sub/c.bin"])
        #expect(try dataset.sample(at: 2) == FileSample(relativePath: "sub/c.bin", bytes: [5, 6]))
        #expect(dataset.schema.fields[0].maxRows == 3)
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 3)
        let batch = try layout.collate(dataset, indices: [0, 1, 2], context: SampleContext(), batchIndex: 0)
        #expect(batch.rows(of: "bytes") == [1, 3, 2])
        #expect(batch["bytes"]?.bytes == [4, 0, 0, 1, 2, 3, 5, 6, 0])
    }

    @Test func directoryErrorsAreClear() throws {
        #expect(throws: ConveyorError.self) { try DirectoryDataset(path: "/nonexistent/conveyor") }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write([1, 2, 3], to: "a")
        #expect(throws: ConveyorError.self) { try DirectoryDataset(path: directory.path, maxFileBytes: 2) }
    }

    @Test func syntheticImagesDependOnSeedAndIndexOnly() throws {
        let dataset = try SyntheticImageDataset(count: 10, height: 4, width: 5, channels: 3, seed: 9, workPerSample: 100)
        let first = try dataset.sample(at: 3)
        #expect(first["image"]?.shape == [4, 5, 3])
        #expect(try dataset.sample(at: 3) == first)
        #expect(try dataset.sample(at: 4) != first)
        let reseeded = try SyntheticImageDataset(count: 10, height: 4, width: 5, channels: 3, seed: 10)
        #expect(try reseeded.sample(at: 3) != first)
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 2)
        let batch = try layout.collate(dataset, indices: [3, 4], context: SampleContext(), batchIndex: 0)
        #expect(Array(batch["image"]!.bytes.prefix(60)) == first["image"]!.bytes, "direct write equals the sample")
        #expect(try batch["label"]!.scalars(as: Int64.self)[0] == first["label"]!.scalar(as: Int64.self))
        #expect(throws: ConveyorError.self) { try SyntheticImageDataset(count: 1, height: 0) }
    }

    @Test func syntheticImagesDecodeOnlyValidDescriptions() throws {
        let dataset = try SyntheticImageDataset(count: 5, height: 2, width: 3, channels: 1, classes: 4, seed: 7,
                                                workPerSample: 10, sleepPerSample: .microseconds(1))
        let encoded = try JSONEncoder().encode(dataset)
        #expect(try JSONDecoder().decode(SyntheticImageDataset.self, from: encoded) == dataset)
        #expect(dataset.sleepPerSample == .microseconds(1))
        let valid = #"{"count":5,"height":2,"width":3,"channels":1,"classes":4,"seed":7,"workPerSample":0,"#
            + #""sleepNanosecondsPerSample":0}"#
        let decoded = try JSONDecoder().decode(SyntheticImageDataset.self, from: Data(valid.utf8))
        #expect(decoded.schema.description == "{image: u8[2, 3, 1], label: i64[]}")
        for (key, bad) in [("height", "0"), ("classes", "0"), ("count", "-1"), ("workPerSample", "-5"),
                           ("sleepNanosecondsPerSample", "-1")] {
            let json = valid.replacingOccurrences(of: "\"\(key)\":", with: "\"\(key)\":\(bad),\"_\":")
            #expect(throws: ConveyorError.self, "\(key) = \(bad)") {
                try JSONDecoder().decode(SyntheticImageDataset.self, from: Data(json.utf8))
            }
        }
    }

    @Test func mapGetsARandomGeneratorFromSeedEpochAndIndex() throws {
        let dataset = ArrayDataset(Array(0..<10)).map { value, random in (value, random.next()) }
        let context = SampleContext(seed: 3, epoch: 2, worker: 0)
        let a = try dataset.sample(at: 5, context: context)
        let b = try dataset.sample(at: 5, context: SampleContext(seed: 3, epoch: 2, worker: 1))
        #expect(a == b, "the worker does not matter")
        #expect(try dataset.sample(at: 5, context: SampleContext(seed: 3, epoch: 3)) != a)
        #expect(try dataset.sample(at: 6, context: context).1 != a.1)
        #expect(a.0 == 5)
    }

    @Test func collationKeepsVariableRowsAndZeroPads() throws {
        let layout = try BatchLayout(sampleSchema: TokenDataset(count: 8).schema, batchSize: 4)
        let batch = try layout.collate(TokenDataset(count: 8), indices: [1, 2, 3, 4], context: SampleContext(), batchIndex: 5)
        #expect(batch.index == 5)
        #expect(batch.rows(of: "tokens") == [1, 2, 3, 0])
        #expect(try batch["tokens"]?.scalars(as: Int32.self) == [1, 0, 0, 2, 2, 0, 3, 3, 3, 0, 0, 0])
        #expect(try batch["id"]?.scalars(as: Int64.self) == [1, 2, 3, 4])
        #expect(batch["tokens"]?.shape == [4, 3])
        #expect(try layout.batchSchema.fields.map(\.name) == ["tokens", "id", "tokens.rows", "id.rows"])
    }

    @Test func writerRejectsWhatDoesNotFit() throws {
        let schema = try Schema([Field("x", .float32, shape: [2, 3])])
        let layout = try BatchLayout(sampleSchema: schema, batchSize: 1)
        struct One: SchemaDataset {
            let schema: Schema
            let tensor: Tensor
            var count: Int { 1 }
            func sample(at index: Int) throws -> Sample { Sample(["x": tensor]) }
        }
        let tooMany = One(schema: schema, tensor: try .zeros(.float32, shape: [3, 3]))
        let tooLarge = ConveyorError.itemTooLarge(field: "x", length: 3, maximum: 2)
        #expect(throws: ConveyorError.sourceFailed(index: 0, worker: nil, message: tooLarge.description)) {
            try layout.collate(tooMany, indices: [0], context: SampleContext(), batchIndex: 0)
        }
        let wrongType = One(schema: schema, tensor: try .zeros(.int32, shape: [2, 3]))
        #expect(throws: ConveyorError.self) { try layout.collate(wrongType, indices: [0], context: SampleContext(), batchIndex: 0) }
        let wrongShape = One(schema: schema, tensor: try .zeros(.float32, shape: [2, 4]))
        #expect(throws: ConveyorError.self) { try layout.collate(wrongShape, indices: [0], context: SampleContext(), batchIndex: 0) }
    }

    @Test func tensorDatasetServesRows() throws {
        let dataset = try TensorDataset([
            "x": try Tensor((0..<12).map(Float.init), shape: [4, 3]),
            "y": try Tensor([10, 11, 12, 13] as [Int32], shape: [4]),
        ])
        #expect(dataset.count == 4)
        let sample = try dataset.sample(at: 2)
        #expect(try sample["x"]?.scalars(as: Float.self) == [6, 7, 8])
        #expect(try sample["y"]?.scalar(as: Int32.self) == 12)
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: 2)
        let batch = try layout.collate(dataset, indices: [3, 0], context: SampleContext(), batchIndex: 0)
        #expect(try batch["x"]?.scalars(as: Float.self) == [9, 10, 11, 0, 1, 2])
        #expect(throws: ConveyorError.self) {
            try TensorDataset(["x": try .zeros(.float32, shape: [4, 3]), "y": try .zeros(.int32, shape: [5])])
        }
    }
}

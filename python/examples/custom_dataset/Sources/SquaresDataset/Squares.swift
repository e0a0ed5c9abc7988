import Conveyor

/// Sample i: "square" i64 = i × i, and "row" f32[3] = [i, i, i]. Its own
/// description: a count is all a process needs to make it.
public struct Squares: SchemaDataset, DatasetDescription, Hashable {
    /// The number of samples.
    public var count: Int

    /// `count` samples.
    public init(count: Int) { self.count = count }

    /// "Squares": the name Python gives (`conveyor.DatasetDescription("Squares", count=…)`).
    public static var typeName: String { "Squares" }

    /// Itself.
    public func makeDataset() throws -> Squares { self }

    /// One i64 and three f32.
    public var schema: Schema {
        try! Schema([Field("square", .int64, shape: []), Field("row", .float32, shape: [3])])
    }

    /// Sample `index`.
    public func sample(at index: Int) throws -> Sample {
        Sample(["square": Tensor(scalar: Int64(index * index)),
                "row": try Tensor([Float](repeating: Float(index), count: 3), shape: [3])])
    }
}

/// Called by the Python package right after it loads this library: the
/// consumer side must know the description type too (it makes the dataset
/// once, to learn its schema and size).
@_cdecl("conveyor_register_datasets")
public func conveyorRegisterDatasets() -> Int32 {
    (try? DatasetRegistry.register(Squares.self)) == nil ? 1 : 0
}

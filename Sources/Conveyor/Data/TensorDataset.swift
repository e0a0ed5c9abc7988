/// A dataset over named in-memory tensors that share their first dimension:
/// sample `i` is row `i` of each (PyTorch's `TensorDataset`, with names).
///
/// ```swift
/// let data = try TensorDataset(["x": try Tensor(features, shape: [1000, 8]),
///                               "y": try Tensor(labels, shape: [1000])])
/// // data.sample(at: 3) == Sample(["x": f32[8], "y": i32[] ])
/// ```
public struct TensorDataset: SchemaDataset {
    /// The columns, each with `count` rows.
    public let columns: Sample
    /// One sample's fields: each column's shape without its first dimension.
    public let schema: Schema
    /// The number of rows every column has.
    public let count: Int

    /// A dataset over `columns`; throws when they are empty, a column is a
    /// scalar, or their first dimensions differ.
    public init(_ columns: KeyValuePairs<String, Tensor>) throws(ConveyorError) {
        let sample = Sample(columns)
        guard let first = sample.tensors.first else {
            throw .invalidArgument("a TensorDataset needs at least one column")
        }
        guard let rows = first.shape.first else {
            throw .invalidArgument("column '\(sample.names[0])' is a scalar; columns need a first dimension (rows)")
        }
        for (name, tensor) in zip(sample.names, sample.tensors) where tensor.shape.first != rows {
            throw .invalidArgument(
                "column '\(name)' has shape \(tensor.shape) but '\(sample.names[0])' has \(rows) rows; "
                    + "every column needs the same first dimension")
        }
        self.columns = sample
        self.count = rows
        self.schema = try Schema(zip(sample.names, sample.tensors).map { Field($0, $1.dtype, shape: Array($1.shape.dropFirst())) })
    }

    /// Row `index` of every column.
    public func sample(at index: Int) throws -> Sample {
        try checkIndex(index)
        var sample = Sample([:])
        for (field, column) in zip(schema.fields, columns.tensors) {
            let size = field.maxBytes
            let bytes = Array(column.bytes[(index * size)..<((index + 1) * size)])
            sample[field.name] = try Tensor(dtype: field.dtype, shape: field.shape, bytes: bytes)
        }
        return sample
    }

    /// Copies row `index` of every column straight into `writer`.
    public func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
        try checkIndex(index)
        for (fieldIndex, (field, column)) in zip(schema.fields, columns.tensors).enumerated() {
            let size = field.maxBytes
            column.withUnsafeBytes { source in
                writer.withUnsafeMutableBytes(of: fieldIndex) { destination in
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(index * size)..<((index + 1) * size)]))
                }
            }
        }
    }

    /// True: every sample's rows are copied whole from the columns.
    public var writesEveryUsedByte: Bool { true }

    /// Gathers the rows of `indices` column by column: one copy per row.
    public func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws {
        for index in indices where !(0..<count).contains(index) {
            try context.blaming(index: index) { try checkIndex(index) }
        }
        for (fieldIndex, (field, column)) in zip(schema.fields, columns.tensors).enumerated() {
            column.withUnsafeBytes { source in
                batch.withUnsafeMutableBytes(of: fieldIndex) { destination in
                    Gather.rows(indices, from: source, into: destination, rowBytes: field.maxBytes)
                }
            }
        }
    }

    private func checkIndex(_ index: Int) throws(ConveyorError) {
        guard index >= 0, index < count else {
            throw .invalidArgument("index \(index) is outside the dataset's 0..<\(count)")
        }
    }
}

/// Typed, mutable access to one sample's place in a batch: one buffer per
/// schema field, `field.maxBytes` long and zeroed before the sample is written,
/// plus the number of rows the sample uses in each field (the maximum unless set).
///
/// The buffers may be plain arrays (the thread backend) or a shared-memory
/// slot (the process backend): whoever creates the writer owns the memory and
/// keeps it alive for the writer's life; the writer cannot be copied, so it
/// cannot outlive the call it is lent to.
///
/// ```swift
/// func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
///     try writer.withUnsafeMutableBufferPointer(of: "tokens", as: Int32.self) { tokens in
///         for row in 0..<5 { tokens[row] = Int32(index + row) }
///     }
///     try writer.setRows(5, of: "tokens")
/// }
/// ```
public struct SampleWriter: ~Copyable {
    /// The fields of one sample.
    public let schema: Schema
    /// The batch's field buffers, one per field, `sampleBytes[f]` per sample.
    private let fields: [UnsafeMutableRawBufferPointer]
    /// Each field's bytes per sample.
    private let sampleBytes: [Int]
    /// The sample's place in the batch.
    private let position: Int
    /// The batch's row counts, field-major: `rowCounts[field * samples + position]`.
    private let rowCounts: UnsafeMutablePointer<Int>
    /// Samples in the batch (the stride of `rowCounts`).
    private let samples: Int

    /// A writer for sample `position` of a batch whose fields are `fields`
    /// (each `sampleBytes[f]` per sample, zeroed) and whose row counts are
    /// at `rowCounts` (field-major, `samples` per field, the maxima at first).
    /// Nothing is copied or allocated: the writer borrows the batch's memory.
    init(
        schema: Schema, fields: [UnsafeMutableRawBufferPointer], sampleBytes: [Int], position: Int,
        rowCounts: UnsafeMutablePointer<Int>, samples: Int
    ) {
        self.schema = schema
        self.fields = fields
        self.sampleBytes = sampleBytes
        self.position = position
        self.rowCounts = rowCounts
        self.samples = samples
    }

    /// Rows written per field, in schema order.
    public var rows: [Int] {
        schema.fields.indices.map { rowCounts[$0 * samples + position] }
    }

    /// The sample's own bytes of field `field`.
    private func buffer(_ field: Int) -> UnsafeMutableRawBufferPointer {
        let size = sampleBytes[field]
        return UnsafeMutableRawBufferPointer(start: fields[field].baseAddress! + position * size, count: size)
    }

    /// Calls `body` with the raw bytes of field `field` (an index in the schema).
    public mutating func withUnsafeMutableBytes<Result>(
        of field: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try body(buffer(field))
    }

    /// Calls `body` with the scalars of the field named `name`, room for its
    /// maximum rows; throws when there is no such field or `Scalar` is not its dtype.
    public mutating func withUnsafeMutableBufferPointer<Scalar: DTypeScalar, Result>(
        of name: String, as type: Scalar.Type, _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> Result
    ) throws -> Result {
        let index = try fieldIndex(name)
        let field = schema.fields[index]
        guard field.dtype == Scalar.dtype else {
            throw ConveyorError.invalidArgument(
                "field '\(name)' holds \(field.dtype), not \(Scalar.dtype); use \(field.dtype)'s Swift type")
        }
        let buffer = buffer(index)
        let typed = buffer.baseAddress!.bindMemory(to: Scalar.self, capacity: field.maxRows * field.scalarsPerRow)
        return try body(UnsafeMutableBufferPointer(start: typed, count: field.maxRows * field.scalarsPerRow))
    }

    /// Sets how many rows of the field named `name` this sample uses.
    public mutating func setRows(_ count: Int, of name: String) throws(ConveyorError) {
        let index = try fieldIndex(name)
        try setRows(count, of: index)
    }

    /// Sets how many rows of field `field` (an index in the schema) this sample uses.
    public mutating func setRows(_ count: Int, of field: Int) throws(ConveyorError) {
        try schema.fields[field].checkRows(count)
        rowCounts[field * samples + position] = count
    }

    /// Copies `tensor` into the field named `name` and sets its rows to the
    /// tensor's first dimension. The tensor's dtype must be the field's, its
    /// shape after the first dimension the field's, and its rows at most the
    /// maximum. A scalar field takes a tensor of shape `[]` or `[1]`.
    public mutating func write(_ tensor: Tensor, to name: String) throws(ConveyorError) {
        let index = try fieldIndex(name)
        let field = schema.fields[index]
        guard tensor.dtype == field.dtype else {
            throw .invalidArgument("field '\(name)' holds \(field.dtype) but the tensor is \(tensor.dtype); convert it first")
        }
        let rowCount: Int
        if field.shape.isEmpty {
            guard tensor.shape == [] || tensor.shape == [1] else {
                throw .invalidArgument("field '\(name)' holds one scalar but the tensor has shape \(tensor.shape)")
            }
            rowCount = 1
        } else {
            guard tensor.shape.count == field.shape.count, tensor.shape.dropFirst() == field.shape.dropFirst() else {
                throw .invalidArgument(
                    "field '\(name)' has shape \(field.shape) (rows first) but the tensor has shape \(tensor.shape); "
                        + "only the first dimension may be smaller")
            }
            rowCount = tensor.shape[0]
        }
        guard rowCount <= field.maxRows else {
            throw .itemTooLarge(field: name, length: rowCount, maximum: field.maxRows)
        }
        let destination = buffer(index)
        tensor.withUnsafeBytes { source in
            destination.copyMemory(from: source)
            if source.count < field.maxBytes {
                // Rows left over from nothing are zero already, but a sample may write a field twice.
                UnsafeMutableRawBufferPointer(rebasing: destination[source.count..<field.maxBytes]).initializeMemory(
                    as: UInt8.self, repeating: 0)
            }
        }
        rowCounts[index * samples + position] = rowCount
    }

    private func fieldIndex(_ name: String) throws(ConveyorError) -> Int {
        guard let index = schema.index(of: name) else {
            throw .invalidArgument("the schema \(schema) has no field named '\(name)'")
        }
        return index
    }
}

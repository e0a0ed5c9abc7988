/// Mutable access to a whole batch's place in memory, field by field: what a
/// dataset writes a batch of samples into at once (`SchemaDataset.write(samplesAt:context:into:)`).
///
/// Field `f` holds `count` samples one after another, each
/// `sampleBytes(of: f)` long (`[count] + field.shape`), zeroed before
/// the batch is written; each sample uses the field's maximum rows unless
/// `setRows` says fewer. The memory may be a batch's arrays (inline and
/// thread workers) or a shared-memory slot (process workers); whoever makes
/// the writer owns it, and the writer cannot be copied, so it cannot outlive
/// the call it is lent to.
///
/// ```swift
/// func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws {
///     batch.withUnsafeMutableBytes(of: 0) { bytes in
///         for (position, index) in indices.enumerated() { bytes[position] = UInt8(truncatingIfNeeded: index) }
///     }
/// }
/// ```
public struct BatchWriter: ~Copyable {
    /// The fields of one sample.
    public let schema: Schema
    /// The samples in the batch.
    public let count: Int
    private let fields: [UnsafeMutableRawBufferPointer]
    private let sampleBytes: [Int]
    private let rowCounts: UnsafeMutableBufferPointer<Int>

    /// A writer over `fields` (one per schema field, each at least
    /// `count × field.maxBytes` long, zeroed) and `rowCounts` (field-major,
    /// `count` per field, holding each field's maximum rows).
    init(schema: Schema, count: Int, fields: [UnsafeMutableRawBufferPointer], rowCounts: UnsafeMutableBufferPointer<Int>) {
        let sampleBytes = schema.fields.map(\.maxBytes)
        precondition(fields.count == schema.fields.count, "one buffer per field")
        precondition(rowCounts.count == schema.fields.count * count, "one row count per field and sample")
        for (buffer, size) in zip(fields, sampleBytes) {
            precondition(buffer.count >= size * count, "a field's buffer is smaller than the batch's samples")
        }
        self.schema = schema
        self.count = count
        self.fields = fields
        self.sampleBytes = sampleBytes
        self.rowCounts = rowCounts
    }

    /// The bytes one sample takes in field `field`: its `maxBytes`.
    public func sampleBytes(of field: Int) -> Int {
        sampleBytes[field]
    }

    /// Calls `body` with the bytes of field `field` for the whole batch:
    /// `count × sampleBytes(of: field)` bytes, sample after sample.
    public mutating func withUnsafeMutableBytes<Result>(
        of field: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try body(UnsafeMutableRawBufferPointer(rebasing: fields[field][0..<(sampleBytes[field] * count)]))
    }

    /// Sets how many rows of field `field` the sample at `position` (in
    /// `0..<count`) uses.
    public mutating func setRows(_ rows: Int, of field: Int, sample position: Int) throws(ConveyorError) {
        guard schema.fields.indices.contains(field), (0..<count).contains(position) else {
            throw .invalidArgument(
                "there is no field \(field) or sample \(position) in a batch of \(count) samples of \(schema)")
        }
        try schema.fields[field].checkRows(rows)
        rowCounts[field * count + position] = rows
    }

    /// The rows each sample uses, per field: `rows[f][s]`.
    var rows: [[Int]] {
        schema.fields.indices.map { field in Array(rowCounts[(field * count)..<((field + 1) * count)]) }
    }

    /// Lends the sample at `position` (in `0..<count`) to `body` as a
    /// `SampleWriter`: the per-sample path, which allocates nothing.
    public mutating func withSample<Result>(
        _ position: Int, _ body: (inout SampleWriter) throws -> Result
    ) rethrows -> Result {
        precondition((0..<count).contains(position), "sample \(position) is outside the batch's 0..<\(count)")
        var writer = SampleWriter(
            schema: schema, fields: fields, sampleBytes: sampleBytes, position: position,
            rowCounts: rowCounts.baseAddress!, samples: count)
        return try body(&writer)
    }

    /// Makes a writer over `fields` with room for the row counts of `count`
    /// samples, each set to its field's maximum, and lends it to `body`.
    static func with<Result>(
        schema: Schema, count: Int, fields: [UnsafeMutableRawBufferPointer],
        _ body: (inout BatchWriter) throws -> Result
    ) rethrows -> (result: Result, rows: [[Int]]) {
        var counts = [Int](repeating: 0, count: schema.fields.count * count)
        for (field, description) in schema.fields.enumerated() {
            for position in 0..<count { counts[field * count + position] = description.maxRows }
        }
        return try counts.withUnsafeMutableBufferPointer { rowCounts in
            var writer = BatchWriter(schema: schema, count: count, fields: fields, rowCounts: rowCounts)
            let result = try body(&writer)
            return (result, writer.rows)
        }
    }
}

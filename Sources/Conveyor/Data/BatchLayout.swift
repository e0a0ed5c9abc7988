/// How `batchSize` samples of a schema sit in one batch's memory: field by
/// field, each field's samples one after another (`[B] + field.shape`), each
/// sample's part `field.maxBytes` long. The thread backend collates into
/// arrays with it; the process backend collates into a ring slot whose
/// schema is `batchSchema`.
public struct BatchLayout: Sendable, Hashable {
    /// One sample's fields.
    public let sampleSchema: Schema
    /// Samples at most per batch.
    public let batchSize: Int
    /// `batchSchema` (or why there is none), made once: a worker process
    /// checks its slot against it at every batch.
    private let madeBatchSchema: Result<Schema, ConveyorError>

    /// The layout of `batchSize` samples of `sampleSchema`.
    public init(sampleSchema: Schema, batchSize: Int) throws(ConveyorError) {
        guard batchSize >= 1 else { throw .invalidArgument("batchSize is \(batchSize); pass 1 or more") }
        self.sampleSchema = sampleSchema
        self.batchSize = batchSize
        madeBatchSchema = Result { () throws(ConveyorError) in
            let data = sampleSchema.fields.map { Field($0.name, $0.dtype, shape: [batchSize] + $0.shape) }
            let rows = sampleSchema.fields.map { Field($0.name + BatchLayout.rowsSuffix, .int32, shape: [batchSize]) }
            return try Schema(data + rows)
        }
    }

    /// Whether two layouts are of the same sample schema and batch size.
    public static func == (left: BatchLayout, right: BatchLayout) -> Bool {
        left.sampleSchema == right.sampleSchema && left.batchSize == right.batchSize
    }

    /// Hashes the sample schema and the batch size.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(sampleSchema)
        hasher.combine(batchSize)
    }

    /// The suffix of the field that holds a field's per-sample rows in `batchSchema`.
    public static let rowsSuffix = ".rows"

    /// A batch as one item of a ring: each field as `[batchSize] + shape`
    /// (its rows = the samples in the batch), then for each field an i32
    /// field "<name>.rows" with the rows each sample used.
    public var batchSchema: Schema {
        get throws(ConveyorError) { try madeBatchSchema.get() }
    }

    /// The bytes field `field` takes for `samples` samples.
    public func byteCount(of field: Int, samples: Int) -> Int {
        sampleSchema.fields[field].maxBytes * samples
    }

    /// Collates the samples at `indices` of `dataset` into arrays: the whole
    /// batch written in place through a `BatchWriter`, no intermediate copy. A
    /// sample that fails is reported as `.sourceFailed` with its index.
    func collate<D: SchemaDataset>(
        _ dataset: D, indices: ArraySlice<Int>, context: SampleContext, batchIndex: Int
    ) throws -> TensorBatch {
        let samples = indices.count
        var rows: [[Int]] = []
        let sizes = sampleSchema.fields.indices.map { byteCount(of: $0, samples: samples) }
        let arrays = try BatchLayout.withZeroedArrays(sizes: sizes) { buffers in
            rows = try writeSamples(of: dataset, indices: indices, context: context, into: buffers)
        }
        let tensors = try zip(sampleSchema.fields, arrays).map { field, bytes in
            try Tensor(dtype: field.dtype, shape: [samples] + field.shape, bytes: bytes)
        }
        return TensorBatch(
            epoch: context.epoch, index: batchIndex, indices: Array(indices), schema: sampleSchema, tensors: tensors,
            rows: rows)
    }

    /// Writes the samples at `indices` of `dataset`, the one at position `p`
    /// as sample `p` of `fieldBuffers` (one per field, each at least
    /// `byteCount(of:samples:)` long, zeroed), through the dataset's
    /// batch path; returns, per field, the rows each sample used. Both
    /// collations (into arrays, into a ring slot) write through this. A
    /// failure is reported as `.sourceFailed`, with its index when known.
    func writeSamples<D: SchemaDataset>(
        of dataset: D, indices: ArraySlice<Int>, context: SampleContext, into fieldBuffers: [UnsafeMutableRawBufferPointer]
    ) throws -> [[Int]] {
        do {
            return try BatchWriter.with(schema: sampleSchema, count: indices.count, fields: fieldBuffers) { batch in
                try dataset.write(samplesAt: indices, context: context, into: &batch)
            }.rows
        } catch {
            throw ConveyorError(blaming: error, worker: context.worker)
        }
    }

    /// Makes zeroed byte arrays of `sizes` and lends all of them, mutable, to
    /// `body` at once (arrays nest their closures, so this recurses).
    private static func withZeroedArrays(
        sizes: ArraySlice<Int>, lent: [UnsafeMutableRawBufferPointer] = [],
        _ body: ([UnsafeMutableRawBufferPointer]) throws -> Void
    ) throws -> [[UInt8]] {
        guard let size = sizes.first else {
            try body(lent)
            return []
        }
        var inner: [[UInt8]] = []
        let outer = try [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            buffer.initialize(repeating: 0)
            initialized = size
            inner = try withZeroedArrays(sizes: sizes.dropFirst(), lent: lent + [UnsafeMutableRawBufferPointer(buffer)], body)
        }
        return [outer] + inner
    }

    private static func withZeroedArrays(
        sizes: [Int], _ body: ([UnsafeMutableRawBufferPointer]) throws -> Void
    ) throws -> [[UInt8]] {
        try withZeroedArrays(sizes: sizes[...], lent: [], body)
    }
}

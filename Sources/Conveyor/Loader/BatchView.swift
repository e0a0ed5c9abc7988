/// A collated batch lent where it lies, for the length of a closure: with
/// the process backend, the shared-memory slot its worker wrote (no copy at
/// all); with the other backends, the batch's own arrays.
///
/// ```swift
/// var batches = loader.makeBatchIterator()
/// while let loss = try batches.next(inPlace: { batch in
///     try batch.withUnsafeBufferPointer(of: "image", as: UInt8.self) { pixels in step(model, pixels) }
/// }) {
///     print(loss)
/// }
/// ```
///
/// The memory is valid only inside the closure: the slot goes back to its
/// worker when the closure returns. Use `copy()` to keep a batch.
public struct BatchView: ~Copyable {
    /// The epoch it belongs to.
    public let epoch: Int
    /// Its position in the epoch, from 0.
    public let index: Int
    /// The dataset indices of its samples.
    public let indices: ArraySlice<Int>
    /// One sample's fields.
    public let schema: Schema
    private let storage: Storage

    private enum Storage {
        case batch(TensorBatch)
        /// Each field's bytes (`[B] + shape`) and each sample's rows, per
        /// field, as the slot stores them.
        case slot(fields: [UnsafeRawBufferPointer], rows: [UnsafeBufferPointer<Int32>])
    }

    /// A view of `batch`.
    init(_ batch: TensorBatch) {
        epoch = batch.epoch
        index = batch.index
        indices = batch.indices[...]
        schema = batch.schema
        storage = .batch(batch)
    }

    /// A view of slot memory that stays valid while the view is lent.
    init(
        epoch: Int, index: Int, indices: ArraySlice<Int>, schema: Schema, fields: [UnsafeRawBufferPointer],
        rows: [UnsafeBufferPointer<Int32>]
    ) {
        self.epoch = epoch
        self.index = index
        self.indices = indices
        self.schema = schema
        storage = .slot(fields: fields, rows: rows)
    }

    /// The number of samples.
    public var count: Int { indices.count }

    /// Calls `body` with the bytes of field `name` (`[count] + shape`, row-major).
    public func withUnsafeBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withUnsafeBytes(ofFieldAt: try fieldIndex(name), body)
    }

    /// Calls `body` with the bytes of `schema.fields[position]` (`[count] +
    /// shape`, row-major): `withUnsafeBytes(of:_:)` without looking the name up.
    public func withUnsafeBytes<R>(ofFieldAt field: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard schema.fields.indices.contains(field) else {
            throw ConveyorError.invalidArgument("field \(field) does not exist; the batch has \(schema.fields.count) fields")
        }
        switch storage {
        case let .batch(batch): return try batch.tensors[field].withUnsafeBytes(body)
        case let .slot(fields, _): return try body(fields[field])
        }
    }

    /// Calls `body` with each field's position in `schema` and its bytes
    /// (`[count] + shape`, row-major), in schema order: what a caller in
    /// another language (the C interface) is given once per batch. Not
    /// generic, so a caller in another module pays no generic dispatch.
    /// The bytes are valid while the view is (with a `BatchLease`, while
    /// the lease is held).
    public func forEachField(_ body: (_ position: Int, _ bytes: UnsafeRawBufferPointer) -> Void) {
        switch storage {
        case let .batch(batch):
            for (position, tensor) in batch.tensors.enumerated() { tensor.withUnsafeBytes { body(position, $0) } }
        case let .slot(fields, _):
            for (position, bytes) in fields.enumerated() { body(position, bytes) }
        }
    }

    /// Calls `body` with the scalars of field `name`; `Scalar` must be its dtype's type.
    public func withUnsafeBufferPointer<Scalar: DTypeScalar, R>(
        of name: String, as type: Scalar.Type, _ body: (UnsafeBufferPointer<Scalar>) throws -> R
    ) throws -> R {
        let dtype = schema.fields[try fieldIndex(name)].dtype
        guard dtype == Scalar.dtype else {
            throw ConveyorError.invalidArgument(
                "field '\(name)' holds \(dtype), not \(Scalar.dtype); use \(dtype)'s Swift type")
        }
        return try withUnsafeBytes(of: name) { bytes in try body(bytes.assumingMemoryBound(to: Scalar.self)) }
    }

    /// The rows each sample used in field `name`.
    public func rows(of name: String) throws(ConveyorError) -> [Int] {
        let field = try fieldIndex(name)
        switch storage {
        case let .batch(batch): return batch.rows[field]
        case let .slot(_, rows): return rows[field].map(Int.init)
        }
    }

    /// The batch, copied out: valid after the view is gone.
    public func copy() -> TensorBatch {
        switch storage {
        case let .batch(batch):
            return batch
        case let .slot(fields, rows):
            let tensors = zip(schema.fields, fields).map { field, bytes in
                Tensor(dtype: field.dtype, shape: [indices.count] + field.shape, matchingBytes: Array(bytes))
            }
            return TensorBatch(epoch: epoch, index: index, indices: Array(indices), schema: schema, tensors: tensors,
                               rows: rows.map { $0.map(Int.init) })
        }
    }

    /// The same view, for a `BatchLease` to keep past the closure that lent this one.
    func duplicate() -> BatchView {
        BatchView(epoch: epoch, index: index, indices: indices, schema: schema, storage: storage)
    }

    private init(epoch: Int, index: Int, indices: ArraySlice<Int>, schema: Schema, storage: Storage) {
        self.epoch = epoch
        self.index = index
        self.indices = indices
        self.schema = schema
        self.storage = storage
    }

    private func fieldIndex(_ name: String) throws(ConveyorError) -> Int {
        guard let field = schema.index(of: name) else {
            throw .invalidArgument("the batch has no field '\(name)'; its fields: \(schema.fields.map(\.name))")
        }
        return field
    }
}

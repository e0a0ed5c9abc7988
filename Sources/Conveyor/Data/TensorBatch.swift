/// A collated batch: for each field of the sample schema, one contiguous
/// tensor of shape `[B] + field.shape` (B = the samples in the batch), and
/// the rows each sample used in it; rows beyond those are zero.
///
/// ```swift
/// for try await batch in loader {
///     let images = batch["image"]!             // u8[B, 32, 32, 3]
///     let lengths = batch.rows(of: "tokens")    // [Int], one per sample
/// }
/// ```
public struct TensorBatch: Sendable, Hashable {
    /// The epoch it belongs to.
    public let epoch: Int
    /// Its position in the epoch, from 0.
    public let index: Int
    /// The dataset indices of its samples.
    public let indices: [Int]
    /// One sample's fields.
    public let schema: Schema
    /// One tensor per field, in schema order, each `[B] + field.shape`.
    public let tensors: [Tensor]
    /// `rows[f][s]`: the rows sample `s` used in field `f`.
    public let rows: [[Int]]

    /// A batch from its parts; the loader makes these.
    public init(epoch: Int, index: Int, indices: [Int], schema: Schema, tensors: [Tensor], rows: [[Int]]) {
        self.epoch = epoch
        self.index = index
        self.indices = indices
        self.schema = schema
        self.tensors = tensors
        self.rows = rows
    }

    /// The number of samples.
    public var count: Int { indices.count }

    /// The tensor of the field named `name`.
    public subscript(name: String) -> Tensor? {
        schema.index(of: name).map { tensors[$0] }
    }

    /// The rows each sample used in the field named `name`.
    public func rows(of name: String) -> [Int]? {
        schema.index(of: name).map { rows[$0] }
    }
}

/// One named field of an item: a dtype and a shape whose first dimension is
/// the maximum number of rows; each item may hold fewer rows (its length),
/// and readers see only those.
///
/// ```swift
/// let pixels = Field("pixels", .uint8, shape: [224, 224, 3])  // always full
/// let tokens = Field("tokens", .int32, shape: [512])           // up to 512
/// ```
public struct Field: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The field's name, unique within its schema.
    public var name: String
    /// The scalar type.
    public var dtype: DType
    /// The shape; `shape[0]` is the maximum row count. Empty means one scalar.
    public var shape: [Int]

    /// A field named `name` of `dtype` with `shape` (first dimension = maximum rows).
    public init(_ name: String, _ dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// Rows at most: `shape[0]`, or 1 for a scalar field.
    public var maxRows: Int { shape.first ?? 1 }

    /// Scalars in one row: the product of the dimensions after the first.
    public var scalarsPerRow: Int { shape.dropFirst().reduce(1, *) }

    /// Bytes in one row.
    public var bytesPerRow: Int { scalarsPerRow * dtype.size }

    /// Bytes at the maximum row count.
    public var maxBytes: Int { maxRows * bytesPerRow }

    /// For example "pixels: u8[224, 224, 3]".
    public var description: String { "\(name): \(dtype)\(shape)" }
}

/// A dense, row-major, little-endian array of one dtype: what a sample's field
/// or a collated batch's field holds in process memory.
///
/// ```swift
/// let image = try Tensor([0.5, 1, 2, 3] as [Float], shape: [2, 2])
/// let values = try image.scalars(as: Float.self)   // [0.5, 1, 2, 3]
/// ```
public struct Tensor: Sendable, Hashable, CustomStringConvertible {
    /// The scalar type.
    public let dtype: DType
    /// The dimensions; empty for a single scalar.
    public let shape: [Int]
    /// The scalars' bytes, `scalarCount * dtype.size` of them.
    public private(set) var bytes: [UInt8]

    /// A tensor of `dtype` and `shape` over `bytes`; throws when the byte
    /// count does not match the shape.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws(ConveyorError) {
        let count = try Tensor.scalarCount(of: shape)
        guard bytes.count == count * dtype.size else {
            throw .invalidArgument(
                "a \(dtype) tensor of shape \(shape) needs \(count * dtype.size) bytes, not \(bytes.count); "
                    + "pass bytes for exactly the shape")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A tensor over `bytes` whose count the caller already matched to `shape`
    /// (a batch view's field, sized when the view was made).
    init(dtype: DType, shape: [Int], matchingBytes bytes: [UInt8]) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A tensor of `shape` holding `scalars`; throws when their count does not
    /// match the shape.
    public init<Scalar: DTypeScalar>(_ scalars: [Scalar], shape: [Int]) throws(ConveyorError) {
        let count = try Tensor.scalarCount(of: shape)
        guard scalars.count == count else {
            throw .invalidArgument(
                "shape \(shape) holds \(count) scalars but \(scalars.count) were given; pass exactly that many")
        }
        self.dtype = Scalar.dtype
        self.shape = shape
        self.bytes = scalars.withUnsafeBytes { Array($0) }
    }

    /// A single scalar (shape `[]`).
    public init<Scalar: DTypeScalar>(scalar: Scalar) {
        self.dtype = Scalar.dtype
        self.shape = []
        self.bytes = Swift.withUnsafeBytes(of: scalar) { Array($0) }
    }

    /// A tensor of zeros.
    public static func zeros(_ dtype: DType, shape: [Int]) throws(ConveyorError) -> Tensor {
        let count = try scalarCount(of: shape)
        return try Tensor(dtype: dtype, shape: shape, bytes: [UInt8](repeating: 0, count: count * dtype.size))
    }

    /// The number of scalars: the product of the shape.
    public var scalarCount: Int { shape.reduce(1, *) }

    /// The scalars as `Scalar`; throws when `Scalar` is not this tensor's dtype.
    public func scalars<Scalar: DTypeScalar>(as type: Scalar.Type) throws(ConveyorError) -> [Scalar] {
        try checkDType(Scalar.self)
        return bytes.withUnsafeBytes { raw in
            [Scalar](unsafeUninitializedCapacity: scalarCount) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                initialized = scalarCount
            }
        }
    }

    /// The first scalar as `Scalar`: the value of a scalar tensor.
    public func scalar<Scalar: DTypeScalar>(as type: Scalar.Type) throws(ConveyorError) -> Scalar {
        try checkDType(Scalar.self)
        guard scalarCount > 0 else { throw .invalidArgument("the tensor of shape \(shape) is empty; it has no scalar") }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: Scalar.self) }
    }

    /// Calls `body` with the scalars, mutable in place; the pointer must not
    /// be used after `body` returns. Throws when `Scalar` is not the dtype.
    public mutating func withUnsafeMutableBufferPointer<Scalar: DTypeScalar, Result>(
        as type: Scalar.Type, _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> Result
    ) throws -> Result {
        try checkDType(Scalar.self)
        return try bytes.withUnsafeMutableBytes { raw in
            var typed = raw.bindMemory(to: Scalar.self)
            return try body(&typed)
        }
    }

    /// Calls `body` with the raw bytes.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try bytes.withUnsafeBytes(body)
    }

    /// For example "f32[2, 2]".
    public var description: String { "\(dtype)\(shape)" }

    private func checkDType<Scalar: DTypeScalar>(_ type: Scalar.Type) throws(ConveyorError) {
        guard Scalar.dtype == dtype else {
            throw .invalidArgument("the tensor holds \(dtype), not \(Scalar.dtype); ask for \(dtype)'s Swift type")
        }
    }

    static func scalarCount(of shape: [Int]) throws(ConveyorError) -> Int {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw .invalidArgument("shape \(shape) has a negative dimension; dimensions must be 0 or more")
        }
        return shape.reduce(1, *)
    }
}

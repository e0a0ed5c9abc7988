/// A dataset over a NumPy `.npy` file, memory-mapped: sample `i` is row `i`
/// (the array without its first dimension), as one named field. The dtype
/// and shape come from the file's header; a bad header is a clear error at
/// `init`.
///
/// ```swift
/// let images = try NumpyDataset(path: "train_images.npy", field: "image")   // u8[60000, 28, 28]
/// images.schema   // {image: u8[28, 28]}
/// ```
public struct NumpyDataset: SchemaDataset {
    /// The file's path.
    public let path: String
    /// The parsed header: dtype, shape, data offset.
    public let header: NumpyHeader
    /// One field named as asked, shaped as a row.
    public let schema: Schema
    private let file: MappedFile

    /// Maps the file at `path`; each sample is a `Sample` with one tensor named `field`.
    public init(path: String, field: String = "data") throws(ConveyorError) {
        let file = try MappedFile(path: path)
        self.path = path
        self.file = file
        self.header = try file.withBytes { (bytes) throws(ConveyorError) in try NumpyHeader(parsing: bytes, path: path) }
        self.schema = try Schema([Field(field, header.dtype, shape: Array(header.shape.dropFirst()))])
    }

    /// The first dimension of the array.
    public var count: Int { header.shape[0] }

    private var rowBytes: Int { schema.fields[0].maxBytes }

    /// Row `index` as a sample.
    public func sample(at index: Int) throws -> Sample {
        let field = schema.fields[0]
        let bytes = try withRow(index) { Array($0) }
        return Sample([field.name: try Tensor(dtype: field.dtype, shape: field.shape, bytes: bytes)])
    }

    /// Copies row `index` from the mapping straight into `writer`.
    public func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
        try withRow(index) { row in
            writer.withBytes(ofField: 0) { $0.copyMemory(from: row) }
        }
    }

    private func withRow<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> Result) throws -> Result {
        guard index >= 0, index < count else {
            throw ConveyorError.invalidArgument("index \(index) is outside \(path)'s 0..<\(count)")
        }
        let start = header.dataOffset + index * rowBytes
        return try file.withBytes { bytes in try body(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + rowBytes)])) }
    }
}

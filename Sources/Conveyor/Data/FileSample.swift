/// One file of a `DirectoryDataset`: its path below the directory and its bytes.
public struct FileSample: Sendable, Hashable {
    /// The path relative to the dataset's directory, such as "cats/001.jpg".
    public var relativePath: String
    /// The file's content.
    public var bytes: [UInt8]

    /// A file sample of `bytes` from `relativePath`.
    public init(relativePath: String, bytes: [UInt8]) {
        self.relativePath = relativePath
        self.bytes = bytes
    }
}

extension FileSample: SampleWritable {
    /// Writes the bytes into the schema's first field (u8, one byte a row) and
    /// sets its rows to the file's size.
    public func write(into writer: inout SampleWriter) throws {
        let field = writer.schema.fields[0]
        guard field.dtype == .uint8, field.scalarsPerRow == 1 else {
            throw ConveyorError.invalidArgument("a file's bytes go into a u8 field of one byte a row, not \(field)")
        }
        guard bytes.count <= field.maxRows else {
            throw ConveyorError.itemTooLarge(field: field.name, length: bytes.count, maximum: field.maxRows)
        }
        bytes.withUnsafeBytes { source in
            writer.withUnsafeMutableBytes(of: 0) { destination in
                UnsafeMutableRawBufferPointer(rebasing: destination[0..<source.count]).copyMemory(from: source)
            }
        }
        try writer.setRows(bytes.count, of: 0)
    }
}

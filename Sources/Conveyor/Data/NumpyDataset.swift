/// A dataset over NumPy `.npy` files, memory-mapped: one file, or several as
/// the columns of one dataset (sharing their first dimension). Sample `i` is
/// row `i` of each file (the array without its first dimension), one named
/// field per file. Dtypes and shapes come from the files' headers; a bad
/// header, or columns whose first dimensions differ, is a clear error at
/// `init`.
///
/// ```swift
/// let images = try NumpyDataset(path: "train_images.npy", field: "image")   // u8[60000, 28, 28]
/// images.schema   // {image: u8[28, 28]}
/// let mnist = try NumpyDataset(columns: ["image": "train_images.npy", "label": "train_labels.npy"])
/// mnist.schema    // {image: u8[28, 28], label: i64[]}
/// ```
///
/// A batch is gathered with one copy per row and column straight from the
/// mappings into the batch's memory, allocating nothing per sample.
public struct NumpyDataset: SchemaDataset {
    /// One file: the field its rows become, its path and its parsed header.
    public struct Column: Sendable, Hashable {
        /// The field's name.
        public let field: String
        /// The .npy file.
        public let path: String
        /// The file's dtype, shape and data offset.
        let header: NumpyHeader
    }

    /// The files, in field order.
    public let columns: [Column]
    /// The fields: one per column, shaped as a row.
    public let schema: Schema
    /// The first dimension every column shares.
    public let count: Int
    private let files: [MappedFile]
    private let rowBytes: [Int]

    /// The first column's path.
    public var path: String { columns[0].path }
    /// The first column's header.
    var header: NumpyHeader { columns[0].header }

    /// Maps the file at `path`; each sample has one tensor named `field`.
    public init(path: String, field: String = "data") throws(ConveyorError) {
        try self.init(columnPaths: [(field, path)])
    }

    /// Maps each file as a column: the field named by its key holds the
    /// file's rows. Throws for no columns, a file without a first
    /// dimension, or first dimensions that differ.
    public init(columns: KeyValuePairs<String, String>) throws(ConveyorError) {
        try self.init(columnPaths: columns.map { ($0.key, $0.value) })
    }

    init(columnPaths: [(field: String, path: String)]) throws(ConveyorError) {
        guard !columnPaths.isEmpty else { throw .invalidArgument("a NumpyDataset needs at least one file") }
        var columns: [Column] = []
        var files: [MappedFile] = []
        for (field, path) in columnPaths {
            let file = try MappedFile(path: path)
            let header = try file.withBytes { (bytes) throws(ConveyorError) in try NumpyHeader(parsing: bytes, path: path) }
            guard let rows = header.shape.first else {
                throw .invalidFile(path: path, problem: "it holds a single scalar (shape ()); a dataset needs rows, a first dimension")
            }
            if let first = columns.first, first.header.shape[0] != rows {
                throw .invalidArgument(
                    "\(path) has \(rows) rows but \(first.path) has \(first.header.shape[0]); "
                        + "the columns of a NumpyDataset need the same first dimension")
            }
            columns.append(Column(field: field, path: path, header: header))
            files.append(file)
        }
        self.columns = columns
        self.files = files
        self.count = columns[0].header.shape[0]
        self.schema = try Schema(columns.map { Field($0.field, $0.header.dtype, shape: Array($0.header.shape.dropFirst())) })
        self.rowBytes = schema.fields.map(\.maxBytes)
    }

    /// Row `index` of every column as a sample.
    public func sample(at index: Int) throws -> Sample {
        try checkIndex(index)
        var sample = Sample([:])
        for (column, field) in schema.fields.enumerated() {
            let bytes = withRows(of: column) { rows in Array(rows[(index * rowBytes[column])..<((index + 1) * rowBytes[column])]) }
            sample[field.name] = try Tensor(dtype: field.dtype, shape: field.shape, bytes: bytes)
        }
        return sample
    }

    /// Copies row `index` of every column from the mappings straight into `writer`.
    public func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
        try checkIndex(index)
        for column in columns.indices {
            let size = rowBytes[column]
            withRows(of: column) { rows in
                writer.withUnsafeMutableBytes(of: column) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: rows[(index * size)..<((index + 1) * size)])) }
            }
        }
    }

    /// True: every sample's rows are copied whole from the files.
    public var writesEveryUsedByte: Bool { true }

    /// Gathers the rows of `indices` column by column: one copy per row.
    public func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws {
        for index in indices where !(0..<count).contains(index) {
            try context.blaming(index: index) { try checkIndex(index) }
        }
        for column in columns.indices {
            let size = rowBytes[column]
            withRows(of: column) { rows in
                batch.withUnsafeMutableBytes(of: column) { destination in
                    Gather.rows(indices, from: rows, into: destination, rowBytes: size)
                }
            }
        }
    }

    /// Calls `body` with column `column`'s data: `count` rows of its row size.
    private func withRows<Result, Failure: Error>(
        of column: Int, _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let start = columns[column].header.dataOffset
        let length = count * rowBytes[column]
        return try files[column].withBytes { (bytes) throws(Failure) in
            try body(UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)]))
        }
    }

    private func checkIndex(_ index: Int) throws(ConveyorError) {
        guard index >= 0, index < count else {
            throw .invalidArgument("index \(index) is outside \(path)'s 0..<\(count)")
        }
    }
}

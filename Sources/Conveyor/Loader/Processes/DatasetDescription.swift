/// A dataset a worker process can make for itself: a `Codable` value that
/// describes the dataset (a path, a size, a seed), under a registered type
/// name. The process backend sends the description to every worker process,
/// which decodes it and calls `makeDataset()`; nothing else crosses over.
///
/// ```swift
/// struct Tokens: DatasetDescription {
///     var path: String
///     static let typeName = "Tokens"
///     func makeDataset() throws -> NumpyDataset { try NumpyDataset(path: path, field: "tokens") }
/// }
///
/// @main struct Train {
///     static func main() throws {
///         WorkerProcess.bootstrap(datasets: Tokens.self)   // first thing: a worker never returns from it
///         let loader = try DataLoader(describedBy: Tokens(path: "train.npy"),
///                                     LoaderConfiguration(batchSize: 32, workers: .processes(2)))
///         // ...
///     }
/// }
/// ```
///
/// `SyntheticImageDataset`, `NumpyDataset.Description` and
/// `DirectoryDataset.Description` are registered already.
public protocol DatasetDescription: Codable, Sendable {
    /// The dataset it makes.
    associatedtype Made: SchemaDataset
    /// The name it is registered and sent under; unique in the program.
    static var typeName: String { get }
    /// Makes the dataset; called once in the consumer (to check the
    /// description and learn the schema) and once in each worker.
    func makeDataset() throws -> Made
}

extension SyntheticImageDataset: DatasetDescription {
    /// "SyntheticImageDataset".
    public static var typeName: String { "SyntheticImageDataset" }

    /// The dataset describes itself: its few parameters are all it is.
    public func makeDataset() throws -> SyntheticImageDataset { self }
}

extension NumpyDataset {
    /// NumPy files by path, for the process backend: each worker maps the
    /// files itself.
    ///
    /// ```swift
    /// let loader = try DataLoader(describedBy: NumpyDataset.Description(path: "features.npy"),
    ///                             LoaderConfiguration(batchSize: 64, workers: .processes(2)))
    /// let mnist = NumpyDataset.Description(columns: ["image": "images.npy", "label": "labels.npy"])
    /// ```
    public struct Description: DatasetDescription, Hashable {
        /// One column: a field and the .npy file holding its rows.
        public struct Column: Codable, Sendable, Hashable {
            /// The field's name.
            public var field: String
            /// The .npy file.
            public var path: String

            /// The rows of the file at `path` as field `field`.
            public init(field: String, path: String) {
                self.field = field
                self.path = path
            }
        }

        /// The files, in field order; their first dimensions must agree.
        public var columns: [Column]

        /// The first column's file.
        public var path: String { columns.first?.path ?? "" }
        /// The first column's field.
        public var field: String { columns.first?.field ?? "" }

        /// The file at `path`, its rows as field `field`.
        public init(path: String, field: String = "data") {
            self.columns = [Column(field: field, path: path)]
        }

        /// Several files as the columns of one dataset, each key the field
        /// its file's rows become:
        /// `NumpyDataset.Description(columns: ["image": "images.npy", "label": "labels.npy"])`.
        public init(columns: KeyValuePairs<String, String>) {
            self.columns = columns.map { Column(field: $0.key, path: $0.value) }
        }

        /// "NumpyDataset".
        public static var typeName: String { "NumpyDataset" }

        /// Maps the files.
        public func makeDataset() throws -> NumpyDataset {
            try NumpyDataset(columnPaths: columns.map { ($0.field, $0.path) })
        }
    }
}

extension DirectoryDataset {
    /// The files below a directory, for the process backend: each worker
    /// lists the directory itself, keeping the files whose relative path
    /// ends with one of `suffixes` (all files when empty). Give `maxFileBytes`
    /// when files may change while the loader runs, so every process agrees
    /// on the sample size.
    public struct Description: DatasetDescription, Hashable {
        /// The directory.
        public var path: String
        /// Relative path endings to keep, such as ".jpg"; empty keeps every file.
        public var suffixes: [String]
        /// Room per sample, in bytes; nil: the largest file's size.
        public var maxFileBytes: Int?

        /// The files below `path` ending with one of `suffixes`.
        public init(path: String, suffixes: [String] = [], maxFileBytes: Int? = nil) {
            self.path = path
            self.suffixes = suffixes
            self.maxFileBytes = maxFileBytes
        }

        /// "DirectoryDataset".
        public static var typeName: String { "DirectoryDataset" }

        /// Lists the directory.
        public func makeDataset() throws -> DirectoryDataset {
            let suffixes = self.suffixes
            return try DirectoryDataset(path: path, maxFileBytes: maxFileBytes) { relative in
                suffixes.isEmpty || suffixes.contains { relative.hasSuffix($0) }
            }
        }
    }
}

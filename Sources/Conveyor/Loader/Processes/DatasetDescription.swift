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
    /// A NumPy file by path, for the process backend: each worker maps the
    /// file itself.
    ///
    /// ```swift
    /// let loader = try DataLoader(describedBy: NumpyDataset.Description(path: "features.npy"),
    ///                             LoaderConfiguration(batchSize: 64, workers: .processes(2)))
    /// ```
    public struct Description: DatasetDescription, Hashable {
        /// The .npy file.
        public var path: String
        /// The name of the one field of its samples.
        public var field: String

        /// The file at `path`, its rows as field `field`.
        public init(path: String, field: String = "data") {
            self.path = path
            self.field = field
        }

        /// "NumpyDataset".
        public static var typeName: String { "NumpyDataset" }

        /// Maps the file.
        public func makeDataset() throws -> NumpyDataset { try NumpyDataset(path: path, field: field) }
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

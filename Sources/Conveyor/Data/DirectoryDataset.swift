/// A dataset over the files below a directory: sample `i` is the `i`-th file
/// (by relative path, in byte order) with its bytes. The files are listed
/// once, at `init`; a filter on the relative path picks which count.
///
/// ```swift
/// let photos = try DirectoryDataset(path: "data/train") { $0.hasSuffix(".jpg") }
/// let first = try photos.sample(at: 0)   // FileSample(relativePath: "cats/001.jpg", bytes: ...)
/// ```
public struct DirectoryDataset: SchemaDataset {
    /// The directory.
    public let path: String
    /// The chosen files' paths relative to `path`, sorted.
    public let relativePaths: [String]
    /// One field, "bytes": u8 with room for the largest file found at `init`.
    public let schema: Schema

    /// Lists the regular files below `path` (and its subdirectories; symbolic
    /// links to files count, links to directories are not followed) whose
    /// relative path `include` accepts. `maxFileBytes` sets the field's room
    /// for the process backend; by default the largest file's size.
    public init(
        path: String, maxFileBytes: Int? = nil, include: @Sendable (String) -> Bool = { _ in true }
    ) throws(ConveyorError) {
        let root = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        guard (try? SystemCalls.pathStatus(root).kind) == .directory else {
            throw .invalidFile(path: path, problem: "it is not a directory; pass the directory that holds the files")
        }
        var found: [(path: String, size: Int)] = []
        var pending = [""]
        while let relativeDirectory = pending.popLast() {
            let directory = relativeDirectory.isEmpty ? root : root + "/" + relativeDirectory
            for entry in try SystemCalls.listDirectory(directory) {
                let relative = relativeDirectory.isEmpty ? entry.name : relativeDirectory + "/" + entry.name
                switch entry.kind {
                case .directory: pending.append(relative)
                case .regularFile where include(relative):
                    found.append((relative, try SystemCalls.pathStatus(root + "/" + relative).size))
                default: break
                }
            }
        }
        found.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        let largest = found.map(\.size).max() ?? 0
        if let maxFileBytes, maxFileBytes < largest {
            throw .invalidArgument(
                "maxFileBytes is \(maxFileBytes) but '\(found.first { $0.size == largest }!.path)' holds \(largest) bytes; "
                    + "pass at least \(largest) or leave it out")
        }
        self.path = root
        self.relativePaths = found.map(\.path)
        self.schema = try Schema([Field("bytes", .uint8, shape: [max(1, maxFileBytes ?? largest)])])
    }

    /// The number of files chosen.
    public var count: Int { relativePaths.count }

    /// The `index`-th file, read now.
    public func sample(at index: Int) throws -> FileSample {
        guard relativePaths.indices.contains(index) else {
            throw ConveyorError.invalidArgument("index \(index) is outside the directory's 0..<\(count) files")
        }
        let relative = relativePaths[index]
        return FileSample(relativePath: relative, bytes: try SystemCalls.readFile(path + "/" + relative))
    }
}

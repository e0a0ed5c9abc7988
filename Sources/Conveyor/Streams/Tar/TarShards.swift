/// WebDataset-style tar shards as a `ShardSource`: a sample is the files
/// that share a key (the path up to the first dot of the file name), each
/// file a field named by its extension ("img.png" → field "img.png"),
/// holding the file's bytes (`u8`, as many rows as bytes, the largest such
/// file's size at most), plus the field `__key__` (the key's UTF-8 bytes).
/// A sample without a file of some extension has 0 rows there. Files of an
/// extension ending in `npy` are NumPy arrays: their field has the arrays'
/// dtype and shape (the first dimension up to the largest; a scalar array
/// makes a scalar field), so `conveyor pack images.npy labels.npy` gives
/// fields `images.npy` (e.g. `u8[28, 28]`) and `labels.npy` (`i64`).
///
/// The shards are scanned once when the source is made (the headers only:
/// the sample count per shard and the largest file per extension), then
/// read by mapping each file, never loading one into memory.
///
/// ```swift
/// let shards = StreamDataset(try TarShards(paths: ["train-000000.tar", "train-000001.tar"]))
/// ```
public struct TarShards: ShardSource {
    /// The shards' paths, in order.
    public let paths: [String]
    /// `__key__` and one `u8` field per extension, sorted by name.
    public let schema: Schema
    /// The samples in each shard.
    public let shardSizes: [Int]
    private let indexes: [TarShardIndex]
    /// The schema's fields that hold NumPy arrays, by index.
    private let numpyFields: Set<Int>

    /// The name of the field that holds each sample's key.
    public static let keyField = "__key__"

    /// Scans the shards at `paths`; throws `.invalidFile` naming a shard
    /// that is missing, damaged or not a tar file.
    public init(paths: [String]) throws(ConveyorError) {
        guard !paths.isEmpty else { throw .invalidArgument("no tar shards given; pass the paths of one or more .tar files") }
        var indexes: [TarShardIndex] = []
        for path in paths {
            do {
                indexes.append(try TarShardIndex(path: path))
            } catch .systemCall(_, let errno) {
                throw .invalidFile(path: path, problem: "it cannot be opened (\(SystemCalls.errorString(errno))); check the shard list")
            }
        }
        var largest: [String: Int] = [:]
        var numpy: [String: TarNumpyField] = [:]
        for index in indexes {
            largest.merge(index.largestFile) { max($0, $1) }
            for (fileExtension, field) in index.numpyFields {
                numpy[fileExtension] = try numpy[fileExtension].map { (known) throws(ConveyorError) in
                    try known.merged(with: field, member: "*.\(fileExtension)", path: index.path)
                } ?? field
            }
        }
        largest.removeValue(forKey: TarShards.keyField)
        let longestKey = indexes.map(\.longestKey).max() ?? 0
        self.paths = paths
        self.indexes = indexes
        self.shardSizes = indexes.map(\.sampleCount)
        let schema = try Schema(
            [Field(TarShards.keyField, .uint8, shape: [max(1, longestKey)])]
                + largest.keys.sorted().map { numpy[$0]?.field(named: $0) ?? Field($0, .uint8, shape: [max(1, largest[$0]!)]) })
        self.schema = schema
        self.numpyFields = Set(schema.fields.indices.filter { numpy[schema.fields[$0].name] != nil })
    }

    /// The shard's path.
    public func shardName(_ shard: Int) -> String { paths[shard] }

    /// Maps shard `shard` and positions a reader at its sample `sample`.
    public func openShard(_ shard: Int, at sample: Int) throws -> TarShardReader {
        try TarShardReader(index: indexes[shard], schema: schema, numpyFields: numpyFields, at: sample)
    }
}

extension TarShards {
    /// Tar shards for the process backend: each worker scans the shards
    /// itself. Built in: registered without `bootstrap(datasets:)`.
    public struct Description: DatasetDescription, Hashable {
        /// The shards' paths, in order.
        public var paths: [String]

        /// The shards at `paths`.
        public init(paths: [String]) {
            self.paths = paths
        }

        /// "TarShards".
        public static var typeName: String { "TarShards" }

        /// Scans the shards.
        public func makeDataset() throws -> StreamDataset<TarShards> {
            StreamDataset(try TarShards(paths: paths))
        }
    }
}

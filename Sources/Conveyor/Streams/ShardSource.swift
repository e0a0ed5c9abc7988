/// Samples kept in shards, each read from front to back: tar files, a
/// table's row ranges, any file format read sequentially. A
/// `StreamDataset` of a source gives each worker its own shards and reads
/// them in order (see `ShardOrder`).
///
/// A source must know how many samples each shard holds (the loader plans
/// the epoch from it) and be able to start reading a shard at any sample
/// (a resumed run starts mid-shard; a shard may be split among workers).
public protocol ShardSource: Sendable {
    /// What reads one shard.
    associatedtype Reader: ShardReader

    /// The fields of one sample; `shape[0]` of each is its maximum rows.
    var schema: Schema { get }
    /// The samples in each shard.
    var shardSizes: [Int] { get }
    /// The shard's name, for messages (a file's path).
    func shardName(_ shard: Int) -> String
    /// A reader of shard `shard` positioned at its sample `sample`.
    func openShard(_ shard: Int, at sample: Int) throws -> Reader
}

/// Reads one shard from front to back. A reader is used by one worker at a
/// time; it may hold an open file or a mapping.
public protocol ShardReader: Sendable {
    /// Writes the next sample into `writer` and moves past it.
    mutating func write(into writer: inout SampleWriter) throws
    /// Reads the next sample and moves past it (a sample a shuffle buffer keeps).
    mutating func read() throws -> Sample
    /// Moves past the next sample without reading it.
    mutating func skip() throws
}

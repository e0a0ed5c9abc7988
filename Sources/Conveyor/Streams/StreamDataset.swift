/// A dataset read as a stream of shards: each worker reads its own shards
/// from front to back (see `ShardOrder`), through a shuffle buffer when
/// asked, and makes whole batches of them. Make its loader with
/// `DataLoader(streaming:…)`; the samples are numbered shard after shard,
/// and every one is delivered exactly once per epoch for any worker count
/// and backend.
///
/// Reading an index outside the loader (`sample(at:)`) opens its shard at
/// that sample: right, but not the fast path.
///
/// ```swift
/// let shards = try StreamDataset(TarShards(paths: ["train-000.tar", "train-001.tar"]))
/// let loader = try DataLoader(streaming: shards, LoaderConfiguration(batchSize: 64, sampler: .shuffled,
///                             workers: .threads(2)), shuffleBuffer: 1000)
/// ```
public struct StreamDataset<Source: ShardSource>: SchemaDataset {
    /// Where the samples are.
    public let source: Source
    /// The samples in all shards.
    public let count: Int
    /// The first index of each shard.
    let shardStarts: [Int]
    private let cursors = StreamCursors<Source>()

    /// A dataset of `source`'s shards.
    public init(_ source: Source) {
        self.source = source
        var starts: [Int] = []
        var next = 0
        for size in source.shardSizes {
            starts.append(next)
            next += size
        }
        self.shardStarts = starts
        self.count = next
    }

    /// The source's schema.
    public var schema: Schema { source.schema }

    /// The sample at `index`, read by opening its shard there.
    public func sample(at index: Int) throws -> Sample {
        guard (0..<count).contains(index) else {
            throw ConveyorError.invalidArgument("sample \(index) is outside the stream's 0..<\(count)")
        }
        // The last shard starting at or before `index` holds it (an empty shard starts where the next does).
        var low = 0
        var high = shardStarts.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if shardStarts[middle] <= index { low = middle } else { high = middle }
        }
        let shard = low
        var reader = try source.openShard(shard, at: index - shardStarts[shard])
        return try reader.read()
    }

    /// Writes the samples at `indices`: read forward by the worker's cursor
    /// when the loader plans a sharded stream (`context.shardOrder`), one by
    /// one from their shards otherwise.
    public func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws {
        guard let order = context.shardOrder else {
            for (slot, index) in indices.enumerated() {
                let sample = try context.blaming(index: index) { try self.sample(at: index) }
                try context.blaming(index: index) { try batch.withSample(slot) { try sample.write(into: &$0) } }
            }
            return
        }
        let worker = context.worker ?? 0
        try cursors.cursor(for: worker).withLock { cursor in
            if cursor?.serves(context, order: order) != true {
                cursor = StreamCursor(
                    source: source, order: order, shardStarts: shardStarts, seed: context.seed, epoch: context.epoch,
                    worker: worker)
            }
            try cursor!.write(indices, context: context, into: &batch)
        }
    }
}

/// Each worker's cursor, made when the worker first reads. A worker's own
/// cursor is only ever used by that worker, so its lock is never contended.
final class StreamCursors<Source: ShardSource>: Sendable {
    private let cursors = Locked<[Int: Locked<StreamCursor<Source>?>]>([:])

    /// Worker `worker`'s cursor.
    func cursor(for worker: Int) -> Locked<StreamCursor<Source>?> {
        cursors.withLock { cursors in
            if let cursor = cursors[worker] { return cursor }
            let cursor = Locked<StreamCursor<Source>?>(nil)
            cursors[worker] = cursor
            return cursor
        }
    }
}

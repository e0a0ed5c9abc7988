/// How a sharded stream is read in an epoch: which worker reads which
/// shards, in which order, through which shuffle buffer, and how its
/// batches interleave. Everything derives from (seed, epoch) and the worker
/// count, so every worker computes the plan on its own and a resumed run
/// reads exactly what the uninterrupted one would have.
///
/// - Shards are split into pieces (contiguous runs of a shard's samples):
///   one piece per shard, or, with fewer shards than workers, each shard cut
///   into `⌈workers / shards⌉` near-equal runs, so every worker has work.
/// - Each epoch the pieces are put in order (shuffled by (seed, epoch) when
///   `shuffleShards`); piece `r` goes to worker `r mod workers`. A worker
///   reads its pieces one after the other, each sequentially.
/// - A worker's samples pass through a shuffle buffer of `shuffleBuffer`
///   samples (0 or 1: none) with a generator of (seed, epoch, worker).
/// - Each worker cuts its samples into whole batches; its last batch may be
///   short (left out with `dropLast`). Batches interleave round-robin: batch
///   `r` of worker 0, of worker 1, …, then `r + 1`, skipping workers that
///   ran out.
///
/// ```swift
/// let order = ShardOrder(shardSizes: [1000, 1000, 800], shuffleShards: true, shuffleBuffer: 256, workers: 2)
/// ```
public struct ShardOrder: Sendable, Codable, Hashable {
    /// The samples in each shard; the dataset's index of sample `j` of shard
    /// `s` is the sum of the sizes before `s`, plus `j`.
    public var shardSizes: [Int]
    /// Whether the pieces' order is shuffled each epoch.
    public var shuffleShards: Bool
    /// The shuffle buffer's size in samples; 0 or 1 reads samples in order.
    public var shuffleBuffer: Int
    /// The number of workers reading (1 for `.inline`).
    public var workers: Int

    /// An order; see the properties.
    public init(shardSizes: [Int], shuffleShards: Bool = false, shuffleBuffer: Int = 0, workers: Int = 1) {
        self.shardSizes = shardSizes
        self.shuffleShards = shuffleShards
        self.shuffleBuffer = shuffleBuffer
        self.workers = workers
    }

    /// A contiguous run of one shard's samples.
    public struct Piece: Sendable, Hashable {
        /// The shard.
        public var shard: Int
        /// The samples, numbered within the shard.
        public var samples: Range<Int>
    }

    /// The samples in all shards.
    public var sampleCount: Int { shardSizes.reduce(0, +) }

    /// Throws when the order cannot serve a dataset of `count` samples.
    public func validate(datasetCount count: Int) throws(ConveyorError) {
        guard workers >= 1 else { throw .invalidArgument("a shard order needs 1 or more workers, not \(workers)") }
        guard shuffleBuffer >= 0 else {
            throw .invalidArgument("shuffleBuffer is \(shuffleBuffer); pass 0 for none, or the samples to hold")
        }
        if let bad = shardSizes.firstIndex(where: { $0 < 0 }) {
            throw .invalidArgument("shard \(bad) has \(shardSizes[bad]) samples; a shard holds 0 or more")
        }
        guard sampleCount == count else {
            throw .invalidArgument(
                "the shards hold \(sampleCount) samples but the dataset has \(count); build the order from its shards")
        }
    }

    /// The first dataset index of each shard.
    var shardStarts: [Int] {
        var starts: [Int] = []
        starts.reserveCapacity(shardSizes.count)
        var next = 0
        for size in shardSizes {
            starts.append(next)
            next += size
        }
        return starts
    }

    /// The pieces, before any shuffle: a shard each, or each shard cut into
    /// runs when there are fewer shards than workers. Empty runs are left out.
    var pieces: [Piece] {
        let cuts = shardSizes.isEmpty ? 1 : max(1, (workers + shardSizes.count - 1) / shardSizes.count)
        var pieces: [Piece] = []
        for (shard, size) in shardSizes.enumerated() {
            for cut in 0..<cuts {
                let range = (size * cut / cuts)..<(size * (cut + 1) / cuts)
                if !range.isEmpty { pieces.append(Piece(shard: shard, samples: range)) }
            }
        }
        return pieces
    }

    /// The pieces `worker` reads in `epoch`, in reading order.
    public func pieces(forWorker worker: Int, seed: UInt64, epoch: Int) -> [Piece] {
        var all = pieces
        if shuffleShards {
            var random = SeededRandom(seed: seed, path: [ShardOrder.shardDomain, epoch])
            Sampler.shuffle(&all, using: &random)
        }
        return stride(from: worker, to: all.count, by: workers).map { all[$0] }
    }

    /// The dataset indices `worker` reads in `epoch`, in reading order.
    func stream(forWorker worker: Int, seed: UInt64, epoch: Int) -> [Int] {
        let starts = shardStarts
        return pieces(forWorker: worker, seed: seed, epoch: epoch).flatMap { piece in
            (starts[piece.shard] + piece.samples.lowerBound)..<(starts[piece.shard] + piece.samples.upperBound)
        }
    }

    /// The positions in `worker`'s reading order (`stream(forWorker:…)`) in
    /// the order the shuffle buffer lets them out: a buffer of
    /// `shuffleBuffer` samples; once full, each sample read replaces one
    /// drawn at random, which goes out; at the end the rest go out in random
    /// order. Depends only on the count, never on the samples, so a worker
    /// knows at any point which samples its buffer holds.
    func emission(streamLength count: Int, worker: Int, seed: UInt64, epoch: Int) -> [Int] {
        guard shuffleBuffer > 1 else { return Array(0..<count) }
        var random = SeededRandom(seed: seed, path: [ShardOrder.bufferDomain, epoch, worker])
        var buffer: [Int] = []
        buffer.reserveCapacity(min(count, shuffleBuffer))
        var out: [Int] = []
        out.reserveCapacity(count)
        for position in 0..<count {
            if buffer.count < shuffleBuffer {
                buffer.append(position)
                continue
            }
            let pick = Sampler.bounded(buffer.count, using: &random)
            out.append(buffer[pick])
            buffer[pick] = position
        }
        while !buffer.isEmpty {
            let pick = Sampler.bounded(buffer.count, using: &random)
            out.append(buffer[pick])
            buffer.swapAt(pick, buffer.count - 1)
            buffer.removeLast()
        }
        return out
    }

    /// The dataset indices `worker` delivers in `epoch`, in order.
    func delivery(forWorker worker: Int, seed: UInt64, epoch: Int) -> [Int] {
        let stream = stream(forWorker: worker, seed: seed, epoch: epoch)
        return emission(streamLength: stream.count, worker: worker, seed: seed, epoch: epoch).map { stream[$0] }
    }

    /// The epoch's batches: every index in delivery order, where each batch
    /// starts in it, and the worker that makes it.
    func batches(seed: UInt64, epoch: Int, batchSize: Int, dropLast: Bool) -> ShardBatches {
        let deliveries = (0..<workers).map { delivery(forWorker: $0, seed: seed, epoch: epoch) }
        let counts = deliveries.map { dropLast ? $0.count / batchSize : ($0.count + batchSize - 1) / batchSize }
        var batches = ShardBatches(source: self, order: [], starts: [0], owners: [])
        for round in 0..<(counts.max() ?? 0) {
            for (worker, samples) in deliveries.enumerated() where round < counts[worker] {
                let start = round * batchSize
                batches.order += samples[start..<min(samples.count, start + batchSize)]
                batches.starts.append(batches.order.count)
                batches.owners.append(worker)
            }
        }
        return batches
    }

    /// Keeps the shard shuffle's generator apart from every other.
    private static let shardDomain = 0x5348_4152  // "SHAR"
    /// Keeps the shuffle buffer's generator apart from every other.
    private static let bufferDomain = 0x4255_4646  // "BUFF"
}

/// An epoch's batches of a sharded stream (see `ShardOrder`).
struct ShardBatches: Sendable, Hashable {
    /// The order they follow.
    var source: ShardOrder
    /// The dataset indices, batch after batch.
    var order: [Int]
    /// Where batch `k` starts in `order`; one more entry than batches.
    var starts: [Int]
    /// The worker that makes batch `k`.
    var owners: [Int]
}

/// One worker's place in its share of a sharded stream for one epoch: the
/// pieces it reads, the reader of the current one, and the samples read but
/// not yet delivered (exactly what the shuffle buffer holds).
///
/// The order samples are delivered in is computed (`ShardOrder`), so the
/// cursor knows for every sample it passes whether it is still to come: it
/// keeps those and skips the rest. A request that does not continue where
/// the last one ended (a resumed run, a new iteration of the same epoch)
/// starts again at the first sample still to come, skipping what was
/// delivered before: the buffer then holds what the uninterrupted run's did.
struct StreamCursor<Source: ShardSource> {
    let source: Source
    let seed: UInt64
    let epoch: Int
    let order: ShardOrder
    let worker: Int
    /// The pieces this worker reads, in order.
    private let pieces: [ShardOrder.Piece]
    /// Where each piece starts in the worker's stream; one more entry than pieces.
    private let pieceStarts: [Int]
    /// The pieces' dataset index ranges, sorted, with their piece: finds a sample's piece.
    private let lookup: [(indices: Range<Int>, piece: Int)]
    /// For each stream position, its place in the worker's delivery order.
    private let rank: [Int]
    /// The next stream position to read.
    private var position = 0
    private var reader: Source.Reader?
    /// Where the current reader's piece ends in the stream.
    private var readerEnd = 0
    /// Samples read ahead of their turn, by stream position.
    private var kept: [Int: Sample] = [:]
    /// The rank the next request should start at.
    private var nextRank = 0

    init(source: Source, order: ShardOrder, shardStarts: [Int], seed: UInt64, epoch: Int, worker: Int) {
        self.source = source
        self.seed = seed
        self.epoch = epoch
        self.order = order
        self.worker = worker
        pieces = order.pieces(forWorker: worker, seed: seed, epoch: epoch)
        var starts = [0]
        for piece in pieces { starts.append(starts[starts.count - 1] + piece.samples.count) }
        pieceStarts = starts
        lookup = pieces.enumerated().map { number, piece in
            let first = shardStarts[piece.shard] + piece.samples.lowerBound
            return (first..<(first + piece.samples.count), number)
        }.sorted { $0.indices.lowerBound < $1.indices.lowerBound }
        let emission = order.emission(streamLength: starts[starts.count - 1], worker: worker, seed: seed, epoch: epoch)
        var rank = [Int](repeating: 0, count: emission.count)
        for (place, streamPosition) in emission.enumerated() { rank[streamPosition] = place }
        self.rank = rank
    }

    /// Whether this cursor serves requests made in `context`.
    func serves(_ context: SampleContext, order: ShardOrder) -> Bool {
        context.seed == seed && context.epoch == epoch && self.order == order
    }

    /// Writes the samples at `indices` (the next of this worker's delivery
    /// order) into `batch`, reading the worker's shards forward.
    mutating func write(
        _ indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter
    ) throws {
        for (slot, index) in indices.enumerated() {
            guard let target = streamPosition(of: index) else {
                throw ConveyorError.invalidArgument(
                    "sample \(index) is not in the shards worker \(worker) reads in epoch \(epoch); "
                        + "make batches with the loader's shard order")
            }
            if rank[target] != nextRank || (target < position && kept[target] == nil) { restart(at: rank[target]) }
            if let sample = kept.removeValue(forKey: target) {
                try context.blaming(index: index) { try batch.withSample(slot) { try sample.write(into: &$0) } }
            } else {
                while position < target {
                    let passed = position
                    try context.blaming(index: index) {
                        if rank[passed] > rank[target] {
                            kept[passed] = try advance { try $0.read() }
                        } else {
                            try advance { try $0.skip() }
                        }
                    }
                }
                try context.blaming(index: index) {
                    try batch.withSample(slot) { writer in try advance { try $0.write(into: &writer) } }
                }
            }
            nextRank = rank[target] + 1
        }
    }

    /// Starts again so that the sample of rank `first` comes next: forgets
    /// what was kept and reads from the first stream position still to come.
    private mutating func restart(at first: Int) {
        kept = [:]
        reader = nil
        position = rank.indices.first { rank[$0] >= first } ?? rank.count
        nextRank = first
    }

    /// Runs `step` on the reader of the current position (opened when
    /// needed), then moves to the next position.
    private mutating func advance<Result>(_ step: (inout Source.Reader) throws -> Result) throws -> Result {
        if reader == nil { try openReader() }
        let result = try step(&reader!)
        position += 1
        if position == readerEnd { reader = nil }  // the piece ended: the next opens its own shard
        return result
    }

    /// Opens a reader positioned at `position`.
    private mutating func openReader() throws {
        guard let piece = pieceStarts.lastIndex(where: { $0 <= position }), piece < pieces.count else {
            throw ConveyorError.invalidArgument("worker \(worker) read past the end of its shards")
        }
        let start = pieces[piece]
        reader = try source.openShard(start.shard, at: start.samples.lowerBound + position - pieceStarts[piece])
        readerEnd = pieceStarts[piece + 1]
    }

    /// The position of dataset index `index` in this worker's stream.
    private func streamPosition(of index: Int) -> Int? {
        var low = 0
        var high = lookup.count
        while low < high {
            let middle = (low + high) / 2
            if lookup[middle].indices.upperBound <= index { low = middle + 1 } else { high = middle }
        }
        guard low < lookup.count, lookup[low].indices.contains(index) else { return nil }
        return pieceStarts[lookup[low].piece] + index - lookup[low].indices.lowerBound
    }
}

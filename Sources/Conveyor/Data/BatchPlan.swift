/// One epoch's batches, computed rather than sent: batch `k` is the `k`-th
/// run of `batchSize` indices of the sampler's order. Any worker that knows
/// (sampler, seed, epoch, batch size) computes the same plan.
struct BatchPlan: Sendable, Hashable {
    /// The epoch, from 0.
    let epoch: Int
    /// The indices of the epoch, in order.
    let order: [Int]
    /// Samples per batch (the last may hold fewer unless `dropLast`).
    let batchSize: Int
    /// Whether a last, short batch is left out.
    let dropLast: Bool
    /// With a `.shards` sampler: the order it was made from, and where each
    /// batch starts and which worker makes it (batches of a sharded stream
    /// may be short in the middle of the epoch, and belong to one worker).
    let shards: ShardBatches?

    /// The plan of `epoch`; throws for a batch size below 1 or a sampler that
    /// does not fit the dataset.
    init(
        sampler: Sampler, datasetCount: Int, batchSize: Int, dropLast: Bool, seed: UInt64, epoch: Int
    ) throws(ConveyorError) {
        guard batchSize >= 1 else { throw .invalidArgument("batchSize is \(batchSize); pass 1 or more") }
        guard epoch >= 0 else { throw .invalidArgument("epoch is \(epoch); epochs count from 0") }
        try sampler.validate(datasetCount: datasetCount)
        self.epoch = epoch
        self.batchSize = batchSize
        self.dropLast = dropLast
        if case let .shards(shardOrder) = sampler {
            let batches = shardOrder.batches(seed: seed, epoch: epoch, batchSize: batchSize, dropLast: dropLast)
            self.order = batches.order
            self.shards = batches
        } else {
            self.order = sampler.order(datasetCount: datasetCount, seed: seed, epoch: epoch)
            self.shards = nil
        }
    }

    /// The sharded stream's order this plan follows, if any.
    public var shardOrder: ShardOrder? { shards?.source }

    /// The worker that must make batch `batch` (a sharded stream's batches
    /// belong to the worker reading their shards); nil when any may.
    public func worker(ofBatch batch: Int) -> Int? {
        shards?.owners[batch]
    }

    /// How many batches the epoch has.
    var batchCount: Int {
        if let shards { return shards.owners.count }
        return dropLast ? order.count / batchSize : (order.count + batchSize - 1) / batchSize
    }

    /// The dataset indices of batch `batch` (in `0..<batchCount`).
    func indices(ofBatch batch: Int) -> ArraySlice<Int> {
        if let starts = shards?.starts { return order[starts[batch]..<starts[batch + 1]] }
        let start = batch * batchSize
        return order[start..<min(order.count, start + batchSize)]
    }
}

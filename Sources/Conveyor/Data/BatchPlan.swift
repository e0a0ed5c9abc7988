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

    /// The plan of `epoch`; throws for a batch size below 1 or a sampler that
    /// does not fit the dataset.
    init(
        sampler: Sampler, datasetCount: Int, batchSize: Int, dropLast: Bool, seed: UInt64, epoch: Int
    ) throws(ConveyorError) {
        guard batchSize >= 1 else { throw .invalidArgument("batchSize is \(batchSize); pass 1 or more") }
        guard epoch >= 0 else { throw .invalidArgument("epoch is \(epoch); epochs count from 0") }
        try sampler.validate(datasetCount: datasetCount)
        self.epoch = epoch
        self.order = sampler.order(datasetCount: datasetCount, seed: seed, epoch: epoch)
        self.batchSize = batchSize
        self.dropLast = dropLast
    }

    /// How many batches the epoch has.
    var batchCount: Int {
        dropLast ? order.count / batchSize : (order.count + batchSize - 1) / batchSize
    }

    /// The dataset indices of batch `batch` (in `0..<batchCount`).
    func indices(ofBatch batch: Int) -> ArraySlice<Int> {
        let start = batch * batchSize
        return order[start..<min(order.count, start + batchSize)]
    }
}

extension WorkerAssignment {
    /// The assignment of `plan`'s batches from `firstBatch` on to `workerCount`
    /// workers: strided, or a sharded stream's owners.
    init(plan: BatchPlan, firstBatch: Int, workerCount: Int) {
        self.init(firstItem: firstBatch, itemCount: plan.batchCount, workerCount: workerCount, owners: plan.shards?.owners)
    }
}

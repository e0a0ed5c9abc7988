/// The batches a worker process owes, as the commands it received decide:
/// pure state, no I/O, so every transition can be tested without processes.
///
/// Worker `w` of `N` makes, of an iteration that starts at batch `f`, the
/// batches `f + w, f + w + N, …`: the consumer reads batch `k` from lane
/// `(k − f) mod N`; of a sharded stream's plan, the batches of its own
/// shards (`BatchPlan.worker(ofBatch:)`). A newer `run` replaces the current iteration at once
/// (its batches are no longer wanted); a failure ends it.
struct WorkerSchedule: Sendable, Hashable {
    /// This worker's index.
    let worker: Int
    /// The number of workers.
    let workerCount: Int
    /// The iteration being made, if any.
    private(set) var current: Iteration?

    /// One iteration's share.
    struct Iteration: Sendable, Hashable {
        /// The generation its items are tagged with.
        var generation: Int64
        /// Its epoch.
        var epoch: Int
        /// The next batch to make.
        var nextBatch: Int
        /// The epoch's batch count.
        var batchCount: Int
        /// A sharded stream's batches for this worker from `nextBatch` on
        /// (made in this order); nil: every `workerCount`-th.
        var owned: [Int]?
    }

    /// A worker with nothing to do yet.
    init(worker: Int, workerCount: Int) {
        self.worker = worker
        self.workerCount = workerCount
    }

    /// Starts making the share of an iteration of `epoch` from `firstBatch`,
    /// whose epoch has `batchCount` batches, dropping any older iteration.
    mutating func start(generation: Int64, epoch: Int, firstBatch: Int, batchCount: Int, ownedBatches: [Int]? = nil) {
        if let ownedBatches {
            current = Iteration(
                generation: generation, epoch: epoch, nextBatch: ownedBatches.first ?? batchCount, batchCount: batchCount,
                owned: Array(ownedBatches.dropFirst().reversed()))
        } else {
            current = Iteration(generation: generation, epoch: epoch, nextBatch: firstBatch + worker, batchCount: batchCount)
        }
    }

    /// The next batch to make, and moves past it; nil when idle.
    mutating func take() -> Int? {
        guard var iteration = current else { return nil }
        guard iteration.nextBatch < iteration.batchCount else {
            current = nil
            return nil
        }
        let batch = iteration.nextBatch
        if iteration.owned != nil {
            iteration.nextBatch = iteration.owned?.popLast() ?? iteration.batchCount
        } else {
            iteration.nextBatch += workerCount
        }
        current = iteration
        return batch
    }

    /// Ends the current iteration (after a failure, as the thread backend does).
    mutating func abandon() {
        current = nil
    }

    /// Whether there is nothing to make.
    var isIdle: Bool {
        guard let current else { return true }
        return current.nextBatch >= current.batchCount
    }
}

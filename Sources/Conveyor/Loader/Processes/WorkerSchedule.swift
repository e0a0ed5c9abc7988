/// The batches a worker process owes, as the commands it received decide:
/// pure state, no I/O, so every transition can be tested without processes.
///
/// Which batches are this worker's is the `WorkerAssignment` of the iteration
/// (the rule the consumer reads lanes by). A newer `run` replaces the current
/// iteration at once (its batches are no longer wanted); a failure ends it.
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
        /// This worker's batches, in the order it makes them.
        var batches: [Int]
        /// How many of `batches` were taken.
        var taken = 0
    }

    /// A worker with nothing to do yet.
    init(worker: Int, workerCount: Int) {
        self.worker = worker
        self.workerCount = workerCount
    }

    /// Starts making this worker's share of `assignment`, an iteration of
    /// `epoch`, dropping any older iteration.
    mutating func start(generation: Int64, epoch: Int, assignment: WorkerAssignment) {
        current = Iteration(generation: generation, epoch: epoch, batches: assignment.items(ofWorker: worker))
    }

    /// Starts making the strided share of an iteration of `epoch` from
    /// `firstBatch`, whose epoch has `batchCount` batches.
    mutating func start(generation: Int64, epoch: Int, firstBatch: Int, batchCount: Int) {
        start(
            generation: generation, epoch: epoch,
            assignment: WorkerAssignment(firstItem: firstBatch, itemCount: batchCount, workerCount: workerCount))
    }

    /// The next batch to make, and moves past it; nil when idle.
    mutating func take() -> Int? {
        guard var iteration = current else { return nil }
        guard iteration.taken < iteration.batches.count else {
            current = nil
            return nil
        }
        let batch = iteration.batches[iteration.taken]
        iteration.taken += 1
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
        return current.taken >= current.batches.count
    }
}

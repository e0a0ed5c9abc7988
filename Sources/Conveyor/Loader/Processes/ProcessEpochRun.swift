import Synchronization

/// One iteration of the process backend: batch `k` is read from the lane of
/// the worker that made it, `(k − firstBatch) mod N` (ordered), or from
/// whichever lane is ready (unordered), and copied out of the slot.
final class ProcessEpochRun: EpochSource {
    typealias Output = TensorBatch

    let plan: BatchPlan
    let firstBatch: Int
    let generation: Int64
    private let pool: ProcessWorkerPool
    private let cancelled = Atomic<Bool>(false)

    init(pool: ProcessWorkerPool, plan: BatchPlan, firstBatch: Int, generation: Int64) {
        self.pool = pool
        self.plan = plan
        self.firstBatch = firstBatch
        self.generation = generation
    }

    var delivery: Delivery { pool.delivery }

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    var queueDepths: [Int] { pool.queueDepths }

    func worker(forBatch batch: Int) -> Int? {
        delivery == .ordered ? (batch - firstBatch) % pool.count : nil
    }

    func next(batch: Int, timeout: Duration?) throws(ConveyorError) -> LaneMessage<TensorBatch>? {
        try take(batch: batch, timeout: timeout)
    }

    private func take(batch: Int, timeout: Duration?) throws(ConveyorError) -> LaneMessage<TensorBatch>? {
        try pool.receive(
            batch: batch, lane: worker(forBatch: batch), generation: generation, plan: plan, timeout: timeout,
            isCancelled: { isCancelled })
    }

    /// Waits on the task's thread: the ring's wait is a futex, which a task cannot suspend on.
    func next(batch: Int, timeout: Duration?) async throws -> LaneMessage<TensorBatch>? {
        try Task.checkCancellation()
        return try take(batch: batch, timeout: timeout)
    }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
    }
}

import Synchronization

/// One iteration of the process backend: batch `k` is read from the lane of
/// the worker that made it (`WorkerAssignment`, ordered), or from
/// whichever lane is ready (unordered), and copied out of the slot — or lent
/// in place (`lend`).
final class ProcessEpochRun: EpochSource {
    typealias Output = TensorBatch

    let plan: BatchPlan
    let generation: Int64
    let assignment: WorkerAssignment
    private let pool: ProcessWorkerPool
    private let cancelled = Atomic<Bool>(false)

    init(pool: ProcessWorkerPool, plan: BatchPlan, firstBatch: Int, generation: Int64) {
        self.pool = pool
        self.plan = plan
        self.generation = generation
        self.assignment = WorkerAssignment(plan: plan, firstBatch: firstBatch, workerCount: pool.count)
    }

    var delivery: Delivery { pool.delivery }

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    var queueDepths: [Int] { pool.queueDepths }

    var queuedBatches: Int { pool.queuedBatches }

    func next(batch: Int, timeout: Duration?) throws(ConveyorError) -> LaneMessage<TensorBatch>? {
        message(try lend(batch: batch, timeout: timeout) { $0.copy() })
    }

    /// The ring's wait is a futex, which a task cannot suspend on: a batch
    /// already there is taken on the task's thread; otherwise a thread of its
    /// own waits while the task is suspended, so the wait never holds a
    /// thread of the cooperative pool. Cancelling the task cancels the
    /// iteration (the wait sees it within `ProcessWorkerPool.waitSlice`).
    func next(batch: Int, timeout: Duration?) async throws -> LaneMessage<TensorBatch>? {
        try Task.checkCancellation()
        let deadline = Deadline.after(timeout)
        let ready = try receive(batch, within: .zero, deadline: deadline, timeout: timeout) { $0.copy() }
        if case .notYet = ready {} else { return message(ready) }
        let waited = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<LaneMessage<TensorBatch>?, any Error>) in
                do {
                    try SystemCalls.startDetachedThread { [self] in
                        continuation.resume(with: Result { () throws(ConveyorError) in
                            message(try lend(batch: batch, deadline: deadline, timeout: timeout) { $0.copy() })
                        })
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            cancel()
        }
        if waited == nil, Task.isCancelled { throw CancellationError() }
        return waited
    }

    /// Waits for batch `batch` and reads it in place with `read`, as long as
    /// `timeout` allows; `.notYet` never comes back.
    /// With `keeper`, the slot's lease is moved into it after `read` instead of released.
    func lend<Item>(
        batch: Int, timeout: Duration?, keeping keeper: RingLeaseKeeper? = nil, _ read: (borrowing BatchView) -> Item
    ) throws(ConveyorError) -> ProcessWorkerPool.Receipt<Item> {
        try lend(batch: batch, deadline: Deadline.after(timeout), timeout: timeout, keeping: keeper, read)
    }

    /// Batch `batch` read in place with `read` if it is there now: `.notYet`
    /// (nothing taken) when it would have to be waited for.
    func lendIfReady<Item>(
        batch: Int, keeping keeper: RingLeaseKeeper?, _ read: (borrowing BatchView) -> Item
    ) throws(ConveyorError) -> ProcessWorkerPool.Receipt<Item> {
        try pool.receive(
            batch: batch, lane: worker(forBatch: batch), generation: generation, plan: plan, waitingAtMost: .zero,
            ifReady: true, isCancelled: { isCancelled }, keeping: keeper, read: read)
    }

    /// The same, until `deadline` (the one `timeout` set).
    private func lend<Item>(
        batch: Int, deadline: Deadline?, timeout: Duration?, keeping keeper: RingLeaseKeeper? = nil,
        _ read: (borrowing BatchView) -> Item
    ) throws(ConveyorError) -> ProcessWorkerPool.Receipt<Item> {
        while true {
            let receipt = try receive(
                batch, within: .seconds(3600), deadline: deadline, timeout: timeout, keeping: keeper, read)
            if case .notYet = receipt { continue }
            return receipt
        }
    }

    private func message(_ receipt: ProcessWorkerPool.Receipt<TensorBatch>) -> LaneMessage<TensorBatch>? {
        switch receipt {
        case let .item(batch, output): .batch(batch, output)
        case let .failure(batch, error): .failure(batch, error)
        case .notYet, .cancelled: nil
        }
    }

    /// One wait of at most `slice`, and never past `deadline` (which throws `.timedOut`).
    private func receive<Item>(
        _ batch: Int, within slice: Duration, deadline: Deadline?, timeout: Duration?, keeping keeper: RingLeaseKeeper? = nil,
        _ read: (borrowing BatchView) -> Item
    ) throws(ConveyorError) -> ProcessWorkerPool.Receipt<Item> {
        var wait = slice
        if let deadline {
            let remaining = deadline.remainingNanoseconds
            if remaining <= 0 { throw .timedOut(operation: "waiting for batch \(batch)", after: timeout ?? .zero) }
            wait = min(wait, .nanoseconds(remaining))
        }
        return try pool.receive(
            batch: batch, lane: worker(forBatch: batch), generation: generation, plan: plan, waitingAtMost: wait,
            isCancelled: { isCancelled }, keeping: keeper, read: read)
    }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
    }
}

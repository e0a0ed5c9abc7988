import Synchronization

/// One iteration of the process backend: batch `k` is read from the lane of
/// the worker that made it, `(k − firstBatch) mod N` (ordered), or from
/// whichever lane is ready (unordered), and copied out of the slot — or lent
/// in place (`lend`).
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

    /// How long the async `next` blocks its thread at a time before it lets other tasks run.
    static let asyncSlice: Duration = .milliseconds(10)

    func next(batch: Int, timeout: Duration?) throws(ConveyorError) -> LaneMessage<TensorBatch>? {
        message(try lend(batch: batch, timeout: timeout) { $0.copy() })
    }

    /// The ring's wait is a futex, which a task cannot suspend on: this waits
    /// on the task's thread in short slices and yields between them.
    func next(batch: Int, timeout: Duration?) async throws -> LaneMessage<TensorBatch>? {
        let deadline = Deadline.after(timeout)
        while true {
            try Task.checkCancellation()
            let receipt = try receive(batch, within: ProcessEpochRun.asyncSlice, deadline: deadline, timeout: timeout) {
                $0.copy()
            }
            if case .notYet = receipt {
                await Task.yield()
                continue
            }
            return message(receipt)
        }
    }

    /// Waits for batch `batch` and reads it in place with `read`, as long as
    /// `timeout` allows; `.notYet` never comes back.
    func lend<Item>(
        batch: Int, timeout: Duration?, _ read: (borrowing BatchView) -> Item
    ) throws(ConveyorError) -> ProcessWorkerPool.Receipt<Item> {
        let deadline = Deadline.after(timeout)
        while true {
            let receipt = try receive(batch, within: .seconds(3600), deadline: deadline, timeout: timeout, read)
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
        _ batch: Int, within slice: Duration, deadline: Deadline?, timeout: Duration?,
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
            isCancelled: { isCancelled }, read: read)
    }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
    }
}

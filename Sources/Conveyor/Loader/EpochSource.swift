/// Where one iteration's batches come from when workers make them.
protocol EpochSource<Output>: AnyObject, Sendable {
    /// What a batch is.
    associatedtype Output: Sendable
    /// Ordered or unordered.
    var delivery: Delivery { get }
    /// Which worker makes which batch.
    var assignment: WorkerAssignment { get }
    /// Whether `cancel()` was called.
    var isCancelled: Bool { get }
    /// Batches ready per worker now.
    var queueDepths: [Int] { get }
    /// Batches ready in all workers' lanes now (`queueDepths`' sum, counted
    /// at every delivery: no array made).
    var queuedBatches: Int { get }
    /// Batch `batch` (in order), or the next one ready (unordered), waiting on
    /// this thread at most `timeout`; nil once cancelled.
    func next(batch: Int, timeout: Duration?) throws(ConveyorError) -> LaneMessage<Output>?
    /// The same, suspending the task.
    func next(batch: Int, timeout: Duration?) async throws -> LaneMessage<Output>?
    /// Ends the iteration: workers leave it promptly, the consumer takes nothing more.
    func cancel()
}

extension EpochSource {
    /// The worker that makes `batch`, when delivery is ordered (its lane is read then).
    func worker(forBatch batch: Int) -> Int? {
        DeliveryCursor(assignment: assignment, delivery: delivery).lane(ofItem: batch)
    }
}

extension EpochRun: EpochSource {
    func next(batch: Int, timeout: Duration?) throws(ConveyorError) -> LaneMessage<Output>? {
        try lane(forBatch: batch).get(timeout: timeout)
    }

    func next(batch: Int, timeout: Duration?) async throws -> LaneMessage<Output>? {
        try await lane(forBatch: batch).get(timeout: timeout)
    }
}

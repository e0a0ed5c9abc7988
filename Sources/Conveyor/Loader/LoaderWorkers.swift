/// A loader backend's workers, as the loader sees them: started once with
/// the loader, given one iteration at a time, shut down with it.
protocol LoaderWorkers<Output>: Sendable {
    /// What the workers make.
    associatedtype Output: Sendable
    /// The number of workers.
    var count: Int { get }
    /// Each worker's time spent making batches.
    var busyClocks: [WorkerBusyClock] { get }
    /// The workers' process ids (empty for threads).
    var processIDs: [Int32] { get }
    /// Tells every worker to make its share of `plan` from `firstBatch` on;
    /// the source the consumer takes the batches from.
    func startIteration(plan: BatchPlan, firstBatch: Int) throws(ConveyorError) -> any EpochSource<Output>
    /// Ends every worker within a bounded time.
    func shutDown()
}

/// Where one iteration's batches come from when workers make them.
protocol EpochSource<Output>: AnyObject, Sendable {
    /// What a batch is.
    associatedtype Output: Sendable
    /// Ordered or unordered.
    var delivery: Delivery { get }
    /// Whether `cancel()` was called.
    var isCancelled: Bool { get }
    /// Batches ready per worker now.
    var queueDepths: [Int] { get }
    /// The worker that makes `batch`, when delivery is ordered.
    func worker(forBatch batch: Int) -> Int?
    /// Batch `batch` (in order), or the next one ready (unordered), waiting on
    /// this thread at most `timeout`; nil once cancelled.
    func next(batch: Int, timeout: Duration?) throws(ConveyorError) -> LaneMessage<Output>?
    /// The same, suspending the task.
    func next(batch: Int, timeout: Duration?) async throws -> LaneMessage<Output>?
    /// Ends the iteration: workers leave it promptly, the consumer takes nothing more.
    func cancel()
}

/// The thread backend: a `ThreadWorkerPool` running `EpochRun`s.
struct ThreadLoaderWorkers<Output: Sendable>: LoaderWorkers {
    let pool: ThreadWorkerPool
    let make: BatchMaker<Output>
    let configuration: LoaderConfiguration

    var count: Int { pool.count }
    var busyClocks: [WorkerBusyClock] { pool.busyClocks }
    var processIDs: [Int32] { [] }

    func startIteration(plan: BatchPlan, firstBatch: Int) throws(ConveyorError) -> any EpochSource<Output> {
        let run = try EpochRun<Output>(
            plan: plan, firstBatch: firstBatch, workerCount: pool.count, prefetch: configuration.prefetch,
            delivery: configuration.delivery)
        let (seed, make, clocks) = (configuration.seed, make, pool.busyClocks)
        try pool.submit { worker in run.produce(worker: worker, seed: seed, make: make, busy: clocks[worker]) }
        return run
    }

    func shutDown() {
        pool.shutDown()
    }
}

extension EpochRun: EpochSource {
    func worker(forBatch batch: Int) -> Int? {
        delivery == .ordered ? batch % workerCount : nil
    }

    func next(batch: Int, timeout: Duration?) throws(ConveyorError) -> LaneMessage<Output>? {
        try lane(forBatch: batch).get(timeout: timeout)
    }

    func next(batch: Int, timeout: Duration?) async throws -> LaneMessage<Output>? {
        try await lane(forBatch: batch).get(timeout: timeout)
    }
}

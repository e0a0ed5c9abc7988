/// How a `DataLoader` batches and who makes the batches.
///
/// ```swift
/// let configuration = LoaderConfiguration(batchSize: 64, sampler: .shuffled, workers: .threads(2), seed: 42)
/// ```
public struct LoaderConfiguration: Sendable, Hashable {
    /// Samples per batch, at least 1.
    public var batchSize: Int
    /// Which indices each epoch visits, in which order.
    public var sampler: Sampler
    /// Whether a last batch with fewer than `batchSize` samples is left out.
    public var dropLast: Bool
    /// `.inline`, `.threads(n)` or `.processes(n)`.
    public var workers: WorkerBackend
    /// Batches each worker may have ready ahead of the consumer, at least 1.
    public var prefetch: Int
    /// `.ordered` (the default): batch k is delivered k-th, the same for any
    /// worker count. `.unordered`: whichever is ready first.
    public var delivery: Delivery
    /// The seed shuffles and per-sample randomness derive from.
    public var seed: UInt64
    /// The longest the consumer waits for one batch before `next()` throws
    /// `.timedOut`; nil waits as long as it takes. Ignored by `.inline`.
    public var batchTimeout: Duration?
    /// The `loader` dimension of the loader's metrics.
    public var label: String
    /// The program worker processes run (`.processes`): nil, this program
    /// (/proc/self/exe), whose `main` calls `WorkerProcess.bootstrap` first.
    /// Give another program that does when this one cannot host workers (a
    /// test runner, an interpreter embedding Swift).
    public var workerExecutable: String?

    /// A configuration; every argument but `batchSize` has a default.
    public init(
        batchSize: Int, sampler: Sampler = .sequential, dropLast: Bool = false, workers: WorkerBackend = .inline,
        prefetch: Int = 2, delivery: Delivery = .ordered, seed: UInt64 = 0, batchTimeout: Duration? = nil,
        label: String = "loader", workerExecutable: String? = nil
    ) {
        self.batchSize = batchSize
        self.sampler = sampler
        self.dropLast = dropLast
        self.workers = workers
        self.prefetch = prefetch
        self.delivery = delivery
        self.seed = seed
        self.batchTimeout = batchTimeout
        self.label = label
        self.workerExecutable = workerExecutable
    }

    /// Throws for a value out of range, a sampler that does not fit a dataset
    /// of `datasetCount`.
    func validate(datasetCount: Int) throws(ConveyorError) {
        guard batchSize >= 1 else { throw .invalidArgument("batchSize is \(batchSize); pass 1 or more") }
        guard prefetch >= 1 else { throw .invalidArgument("prefetch is \(prefetch); pass 1 or more batches per worker") }
        if let batchTimeout, batchTimeout <= .zero {
            throw .invalidArgument("batchTimeout is \(batchTimeout); pass a positive duration, or nil for none")
        }
        switch workers {
        case .inline:
            break
        case let .threads(count):
            guard count >= 1 else { throw .invalidArgument("threads(\(count)): pass 1 or more, or .inline for none") }
        case let .processes(count):
            guard count >= 1 else { throw .invalidArgument("processes(\(count)): pass 1 or more, or .inline for none") }
        }
        try sampler.validate(datasetCount: datasetCount)
        if case let .shards(order) = sampler, order.workers != max(1, workers.workerCount) {
            throw .invalidArgument(
                "the shard order is for \(order.workers) workers but the loader has \(max(1, workers.workerCount)); "
                    + "build it for the loader's workers (DataLoader(streaming:) does)")
        }
    }

    /// The plan of `epoch` under `seed` for a dataset of `datasetCount` samples.
    func plan(datasetCount: Int, epoch: Int) throws(ConveyorError) -> BatchPlan {
        try BatchPlan(
            sampler: sampler, datasetCount: datasetCount, batchSize: batchSize, dropLast: dropLast, seed: seed,
            epoch: epoch)
    }
}

/// What a training loop iterates: batches of a dataset, made inline, by
/// worker threads or by worker processes, delivered in order (by default),
/// deterministic for any worker count, and resumable from `state`.
///
/// Each worker computes its own share of the epoch's plan and the consumer
/// reads each batch from the worker that made it, so nothing but the plan's
/// few integers is shared: with threads, worker `w` makes batches `w`,
/// `w + N`, … and batch `k` comes from worker `k mod N`; with processes, an
/// iteration that starts at batch `f` (after a resume) gives worker `w`
/// batches `f + w`, `f + w + N`, …. The batches and their order are the same
/// either way; only which worker made a batch (named in its errors) differs. Workers start once, with
/// the loader, and serve every epoch; `stop()`, or dropping the loader, ends
/// them.
///
/// Every iteration (`for … in loader`) is one epoch: a new iteration starts
/// the next epoch, except that the first one after `resumingFrom:` finishes
/// the resumed epoch.
///
/// ```swift
/// let images = try SyntheticImageDataset(count: 50_000)
///     .map { sample, random in sample }            // augment with `random`
/// let loader = try DataLoader(collating: images,
///                             LoaderConfiguration(batchSize: 64, sampler: .shuffled, workers: .threads(2)))
/// for epoch in 0..<10 {
///     for try await batch in loader {
///         train(batch["image"]!, batch["label"]!)
///     }
///     print(loader.epochHistory.last!)            // batches/s, data stall, workers' busy share
/// }
/// ```
public final class DataLoader<Output: Sendable>: Sendable {
    /// How it batches and who makes the batches.
    public let configuration: LoaderConfiguration
    /// The dataset's sample count.
    public let datasetCount: Int

    private let make: BatchMaker<Output>
    private let workers: (any LoaderWorkers<Output>)?
    private let recorder: LoaderStatsRecorder
    private let control: Locked<Control>

    private struct Control: Sendable {
        var position: LoaderPosition
        var run: (any EpochSource<Output>)?
        var stopped = false
        /// What ended the loader for good (a worker process died): every
        /// later iteration fails, and `position` never moves again.
        var failure: ConveyorError?
    }

    /// The seed in use (the state's when resumed).
    public var seed: UInt64 { configuration.seed }

    /// Makes the process backend's workers for a configuration; nil when the
    /// dataset cannot be made in a worker process.
    typealias ProcessWorkersFactory = (LoaderConfiguration) throws(ConveyorError) -> any LoaderWorkers<Output>

    init(
        datasetCount: Int, configuration: LoaderConfiguration, resumingFrom state: LoaderState?,
        make: @escaping BatchMaker<Output>, processWorkers: ProcessWorkersFactory? = nil
    ) throws(ConveyorError) {
        var configuration = configuration
        if let state { configuration.seed = state.seed }
        try configuration.validate(datasetCount: datasetCount)
        let samplesPerEpoch = try configuration.plan(datasetCount: datasetCount, epoch: 0).order.count
        if configuration.dropLast, samplesPerEpoch > 0, configuration.batchSize > samplesPerEpoch {
            throw .invalidArgument(
                "batchSize \(configuration.batchSize) with dropLast: an epoch has only \(samplesPerEpoch) samples, "
                    + "so every epoch would be empty; pass a batchSize of at most \(samplesPerEpoch), or dropLast: false")
        }
        var position = LoaderPosition(epoch: 0, nextBatch: 0)
        if let state {
            let plan = try configuration.plan(datasetCount: datasetCount, epoch: Swift.max(0, state.epoch))
            guard state.epoch >= 0, (0...plan.batchCount).contains(state.nextBatch) else {
                throw .invalidArgument(
                    "cannot resume from \(state): the epoch has batches 0..<\(plan.batchCount); "
                        + "resume with the state this dataset and configuration produced")
            }
            position = LoaderPosition(epoch: state.epoch, nextBatch: state.nextBatch)
        }
        self.configuration = configuration
        self.datasetCount = datasetCount
        self.make = make
        switch configuration.workers {
        case .inline:
            workers = nil
        case let .threads(count):
            workers = ThreadLoaderWorkers(
                pool: try ThreadWorkerPool(count: count), make: make, configuration: configuration)
        case .processes:
            guard let processWorkers else {
                throw .invalidArgument(
                    "worker processes need a dataset they can make themselves: a SchemaDataset that is a "
                        + "DatasetDescription (DataLoader(describedBy:)); use .threads(n) for this dataset")
            }
            workers = try processWorkers(configuration)
        }
        self.recorder = LoaderStatsRecorder(label: configuration.label, busyClocks: workers?.busyClocks ?? [])
        self.control = Locked(Control(position: position))
        ConveyorLog.logger.info("loader started", metadata: [
            "loader": "\(configuration.label)", "workers": "\(configuration.workers)",
            "batchSize": "\(configuration.batchSize)", "samples": "\(datasetCount)"])
    }

    deinit {
        stop()
    }

    /// Where the loader is: the next batch to be delivered. Save it to resume later.
    public var state: LoaderState {
        let position = control.withLock { $0.position }
        var state = LoaderState(seed: configuration.seed, epoch: position.epoch, nextBatch: position.nextBatch)
        if case let .shards(order) = configuration.sampler { state.streamWorkers = order.workers }
        return state
    }

    /// The current epoch's stats, live.
    public var stats: LoaderStats {
        let depths = control.withLock { $0.run?.queueDepths } ?? []
        return recorder.snapshot(queueDepths: depths)
    }

    /// The process ids of the worker processes (`.processes`), by worker
    /// index; empty for the other backends.
    public var workerProcessIDs: [Int32] { workers?.processIDs ?? [] }

    /// The stats of every epoch iterated to its end or to the error that
    /// ended it (`failure` then says which), oldest first.
    public var epochHistory: [LoaderStats] { recorder.epochHistory }

    /// Ends the current iteration and every worker; waits for the worker
    /// threads (a worker in the middle of a sample finishes it first). Later
    /// iterations throw `.closed`. Dropping the loader does the same.
    public func stop() {
        let run = control.withLock { control in
            control.stopped = true
            return control.run
        }
        run?.cancel()
        workers?.shutDown()
    }

    /// Starts an iteration: the plan of its epoch and, with workers, the run
    /// they fill. Cancels an iteration still going. An iteration that cannot
    /// start leaves the position where it was, so `state` still resumes
    /// exactly.
    func beginIteration() -> EpochCursor<Output> {
        do {
            return try control.withLock { control in
                control.run?.cancel()
                control.run = nil
                guard !control.stopped else { throw ConveyorError.closed("the DataLoader (it was stopped)") }
                if let failure = control.failure { throw DataLoader.failedLoaderError(failure, at: control.position) }
                var position = control.position
                let (epoch, firstBatch) = position.beginIteration()
                let plan = try configuration.plan(datasetCount: datasetCount, epoch: epoch)
                if firstBatch >= plan.batchCount {
                    position.exhausted(epoch: epoch)
                    control.position = position
                    recorder.epochStarted(epoch)
                    return EpochCursor(loader: self, plan: plan, firstBatch: firstBatch, run: nil)
                }
                let run: (any EpochSource<Output>)?
                do throws(ConveyorError) {
                    run = try workers?.startIteration(plan: plan, firstBatch: firstBatch)
                } catch {
                    if case .workerDied = error { control.failure = error }
                    throw control.failure.map { DataLoader.failedLoaderError($0, at: control.position) } ?? error
                }
                control.position = position
                control.run = run
                recorder.epochStarted(epoch)
                return EpochCursor(loader: self, plan: plan, firstBatch: firstBatch, run: run)
            }
        } catch let error as ConveyorError {
            return EpochCursor(loader: self, failure: error)
        } catch {
            return EpochCursor(loader: self, failure: .unavailable("the epoch could not start: \(error)"))
        }
    }

    /// The error of an iteration of a loader that failed for good with `cause`.
    private static func failedLoaderError(_ cause: ConveyorError, at position: LoaderPosition) -> ConveyorError {
        .unavailable(
            "this DataLoader failed earlier (\(cause)) and delivers nothing more; make a new DataLoader with "
                + "resumingFrom: its state (epoch \(position.epoch), next batch \(position.nextBatch)) to go on "
                + "with exactly the batches not yet delivered")
    }

    /// Records an iteration's failure: the epoch goes into the history,
    /// marked failed; a worker's death fails the loader for good.
    func iterationFailed(_ error: ConveyorError, run: (any EpochSource<Output>)?) {
        if case .workerDied = error {
            control.withLock { control in
                if control.failure == nil { control.failure = error }
            }
        }
        recorder.epochFailed(error, queueDepths: run?.queueDepths ?? [])
    }

    /// Makes batch `batch` on the consumer's thread (`.inline`).
    func makeInline(_ plan: BatchPlan, _ batch: Int) -> LaneMessage<Output> {
        let context = SampleContext(plan: plan, seed: configuration.seed, worker: nil)
        do {
            return .batch(batch, try make(plan, batch, context))
        } catch {
            return .failure(batch, ConveyorError(blaming: error, worker: nil))
        }
    }

    /// Records a delivered batch.
    func recordDelivery(_ batch: Int, of plan: BatchPlan, waitedNanoseconds: Int64, run: (any EpochSource<Output>)?) {
        let completed = control.withLock {
            $0.position.delivered(batch, ofEpoch: plan.epoch, batchCount: plan.batchCount)
        }
        recorder.delivered(
            samples: plan.indices(ofBatch: batch).count, waitedNanoseconds: waitedNanoseconds,
            queuedBatches: run?.queuedBatches ?? 0)
        if completed { recorder.epochEnded(queueDepths: run?.queueDepths ?? []) }
    }
}

extension DataLoader {
    /// A loader of `dataset` whose batches are the samples as they are
    /// (`SampleBatch`): for samples of any `Sendable` type.
    ///
    /// ```swift
    /// let loader = try DataLoader(ArrayDataset(sentences), LoaderConfiguration(batchSize: 8, workers: .threads(2)))
    /// ```
    public convenience init<D: Dataset>(
        _ dataset: D, _ configuration: LoaderConfiguration, resumingFrom state: LoaderState? = nil
    ) throws(ConveyorError) where Output == SampleBatch<D.Element> {
        try self.init(datasetCount: dataset.count, configuration: configuration, resumingFrom: state) {
            plan, batch, context in
            let indices = plan.indices(ofBatch: batch)
            let samples = try dataset.samples(at: indices, context: context)
            return SampleBatch(epoch: plan.epoch, index: batch, indices: Array(indices), samples: samples)
        }
    }

    /// A loader of `dataset` whose batches are collated (`TensorBatch`): one
    /// contiguous tensor `[B, …]` per field, each sample written in place.
    /// With `.processes(n)`, the dataset must also be a registered
    /// `DatasetDescription` (as `SyntheticImageDataset` is); see
    /// `init(describedBy:_:resumingFrom:)`.
    public convenience init<D: SchemaDataset>(
        collating dataset: D, _ configuration: LoaderConfiguration, resumingFrom state: LoaderState? = nil
    ) throws(ConveyorError) where Output == TensorBatch {
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: Swift.max(1, configuration.batchSize))
        let processWorkers = (dataset as? any DatasetDescription).map { description in
            DataLoader.processWorkers(for: description, datasetCount: dataset.count, layout: layout)
        }
        try self.init(
            datasetCount: dataset.count, configuration: configuration, resumingFrom: state,
            make: DataLoader.collator(dataset, layout), processWorkers: processWorkers)
    }

    /// A loader of the dataset `description` makes, with collated batches:
    /// the form every backend takes, and the one `.processes(n)` needs, since
    /// each worker process makes the dataset from its description itself.
    /// The description's type must be registered (pass it to
    /// `WorkerProcess.bootstrap(datasets:)` first thing in `main`).
    ///
    /// ```swift
    /// let loader = try DataLoader(describedBy: NumpyDataset.Description(path: "train.npy"),
    ///                             LoaderConfiguration(batchSize: 64, sampler: .shuffled, workers: .processes(2)))
    /// ```
    public convenience init<Description: DatasetDescription>(
        describedBy description: Description, _ configuration: LoaderConfiguration,
        resumingFrom state: LoaderState? = nil
    ) throws(ConveyorError) where Output == TensorBatch {
        try self.init(describedBy: description, made: try DataLoader.dataset(describedBy: description), configuration,
                      resumingFrom: state)
    }

    /// A loader of `dataset`, which `description` made (worker processes make their own from `description`).
    convenience init<Description: DatasetDescription>(
        describedBy description: Description, made dataset: Description.Made, _ configuration: LoaderConfiguration,
        resumingFrom state: LoaderState?
    ) throws(ConveyorError) where Output == TensorBatch {
        let layout = try BatchLayout(sampleSchema: dataset.schema, batchSize: Swift.max(1, configuration.batchSize))
        try self.init(
            datasetCount: dataset.count, configuration: configuration, resumingFrom: state,
            make: DataLoader.collator(dataset, layout),
            processWorkers: DataLoader.processWorkers(for: description, datasetCount: dataset.count, layout: layout))
    }

    /// The dataset `description` makes; its errors as `ConveyorError`s.
    static func dataset<Description: DatasetDescription>(
        describedBy description: Description
    ) throws(ConveyorError) -> Description.Made {
        do {
            return try description.makeDataset()
        } catch let error as ConveyorError {
            throw error
        } catch {
            throw .invalidArgument("\(Description.self) could not make its dataset: \(error)")
        }
    }

    /// Collates batches of `dataset` into arrays.
    private static func collator<D: SchemaDataset>(_ dataset: D, _ layout: BatchLayout) -> BatchMaker<TensorBatch> {
        { plan, batch, context in
            try layout.collate(dataset, indices: plan.indices(ofBatch: batch), context: context, batchIndex: batch)
        }
    }

    /// Spawns the worker processes for `description`.
    private static func processWorkers<Description: DatasetDescription>(
        for description: Description, datasetCount: Int, layout: BatchLayout
    ) -> ProcessWorkersFactory where Output == TensorBatch {
        { configuration throws(ConveyorError) in
            try ProcessWorkerPool(
                description: description, datasetCount: datasetCount, layout: layout, configuration: configuration)
        }
    }
}

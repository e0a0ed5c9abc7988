import Metrics
import Synchronization

/// Counts what the consumer sees (batches, samples, waiting) per epoch and
/// reports it through swift-metrics; the workers' busy time is read from
/// their clocks when a snapshot is taken.
///
/// Metrics, each with the dimension `loader` = the loader's label:
/// `conveyor_loader_batches` and `conveyor_loader_samples` (counters),
/// `conveyor_loader_data_stall` (a timer: each batch's wait),
/// `conveyor_loader_queue_depth` (a gauge: batches ready after each delivery),
/// `conveyor_loader_worker_busy_share` (a gauge per worker, at each epoch's end).
final class LoaderStatsRecorder: Sendable {
    private struct EpochCounts: Sendable {
        var epoch = 0
        var startNanoseconds: Int64 = 0
        var lastNanoseconds: Int64 = 0
        var batches = 0
        var samples = 0
        var stallNanoseconds: Int64 = 0
        var busyAtStart: [Int64] = []
    }

    private let counts = Locked(EpochCounts())
    private let history = Locked<[LoaderStats]>([])
    private let busyClocks: [WorkerBusyClock]
    private let batchCounter: Counter
    private let sampleCounter: Counter
    private let stallTimer: Metrics.Timer
    private let depthGauge: Gauge
    private let busyGauges: [Gauge]

    init(label: String, busyClocks: [WorkerBusyClock]) {
        let dimensions = [("loader", label)]
        self.busyClocks = busyClocks
        batchCounter = Counter(label: "conveyor_loader_batches", dimensions: dimensions)
        sampleCounter = Counter(label: "conveyor_loader_samples", dimensions: dimensions)
        stallTimer = Metrics.Timer(label: "conveyor_loader_data_stall", dimensions: dimensions)
        depthGauge = Gauge(label: "conveyor_loader_queue_depth", dimensions: dimensions)
        busyGauges = busyClocks.indices.map {
            Gauge(label: "conveyor_loader_worker_busy_share", dimensions: dimensions + [("worker", String($0))])
        }
    }

    /// Starts counting `epoch` (again, if an iteration restarts it).
    func epochStarted(_ epoch: Int) {
        let now = SystemCalls.monotonicNanoseconds()
        let busy = busyClocks.map(\.nanoseconds)
        counts.withLock { counts in
            counts = EpochCounts(epoch: epoch, startNanoseconds: now, lastNanoseconds: now, busyAtStart: busy)
        }
    }

    /// Records a delivered batch of `samples` samples that the consumer waited
    /// `waitedNanoseconds` for, with `queuedBatches` ready behind it.
    func delivered(samples: Int, waitedNanoseconds: Int64, queuedBatches: Int) {
        let now = SystemCalls.monotonicNanoseconds()
        counts.withLock { counts in
            counts.batches += 1
            counts.samples += samples
            counts.stallNanoseconds += waitedNanoseconds
            counts.lastNanoseconds = now
        }
        batchCounter.increment()
        sampleCounter.increment(by: samples)
        stallTimer.recordNanoseconds(waitedNanoseconds)
        depthGauge.record(queuedBatches)
    }

    /// Closes the current epoch: its stats go into the history.
    func epochEnded(queueDepths: [Int]) {
        let stats = snapshot(queueDepths: queueDepths, live: false)
        for (gauge, share) in zip(busyGauges, stats.workerBusyShare) { gauge.record(share) }
        history.withLock { $0.append(stats) }
    }

    /// Closes the current epoch after `error` ended it: its stats go into
    /// the history, marked failed.
    func epochFailed(_ error: ConveyorError, queueDepths: [Int]) {
        var stats = snapshot(queueDepths: queueDepths, live: false)
        stats.failure = error.description
        history.withLock { $0.append(stats) }
    }

    /// The current epoch's stats: up to now when `live`, else up to its last batch.
    func snapshot(queueDepths: [Int], live: Bool = true) -> LoaderStats {
        let now = SystemCalls.monotonicNanoseconds()
        let busyNow = busyClocks.map(\.nanoseconds)
        let current = counts.withLock { $0 }
        let end = live ? now : current.lastNanoseconds
        let elapsed = max(0, end - current.startNanoseconds)
        let busyShare = busyNow.indices.map { worker -> Double in
            let start = worker < current.busyAtStart.count ? current.busyAtStart[worker] : 0
            return elapsed > 0 ? min(1, Double(busyNow[worker] - start) / Double(elapsed)) : 0
        }
        return LoaderStats(
            epoch: current.epoch, batches: current.batches, samples: current.samples, elapsed: .nanoseconds(elapsed),
            dataStall: .nanoseconds(current.stallNanoseconds), workerBusyShare: busyShare, queueDepths: queueDepths)
    }

    /// The stats of every finished epoch, oldest first.
    var epochHistory: [LoaderStats] { history.withLock { $0 } }
}

/// The time one worker has spent making batches, in nanoseconds; the worker
/// adds, anyone reads.
final class WorkerBusyClock: Sendable {
    private let total = Atomic<Int64>(0)

    init() {}

    /// Adds `nanoseconds` of work.
    func add(_ nanoseconds: Int64) {
        total.wrappingAdd(nanoseconds, ordering: .relaxed)
    }

    /// The total so far.
    var nanoseconds: Int64 { total.load(ordering: .relaxed) }
}

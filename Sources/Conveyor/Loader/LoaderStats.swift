/// How a loader is doing in one epoch: throughput, how long the consumer
/// waited for data (the data stall), how busy each worker was and how full
/// the queues are. `DataLoader.stats` is the live value for the current
/// epoch; `DataLoader.epochHistory` keeps one per finished epoch.
///
/// A stall share near 0 means the workers keep up; near 1 means the training
/// loop mostly waits: add workers or make samples cheaper.
public struct LoaderStats: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The epoch measured.
    public var epoch: Int
    /// Batches delivered in it so far.
    public var batches: Int
    /// Samples in those batches.
    public var samples: Int
    /// The time from the epoch's start to now (live) or to its last batch.
    public var elapsed: Duration
    /// The time the consumer spent inside `next()` waiting for a batch.
    public var dataStall: Duration
    /// Share of each worker's time spent making batches (not waiting for room).
    public var workerBusyShare: [Double]
    /// Batches waiting in each worker's queue now (one entry when unordered).
    public var queueDepths: [Int]
    /// What ended the epoch early, when an error did (a failed sample, a
    /// timeout, a worker's death); nil for an epoch that ran to its end.
    public var failure: String?
    /// Whether an error ended the epoch.
    public var failed: Bool { failure != nil }

    /// Batches delivered per second.
    public var batchesPerSecond: Double { elapsedSeconds > 0 ? Double(batches) / elapsedSeconds : 0 }
    /// Samples delivered per second.
    public var samplesPerSecond: Double { elapsedSeconds > 0 ? Double(samples) / elapsedSeconds : 0 }
    /// The share of the epoch's time the consumer waited for data.
    public var dataStallShare: Double {
        elapsedSeconds > 0 ? min(1, dataStall.conveyorSeconds / elapsedSeconds) : 0
    }

    var elapsedSeconds: Double { elapsed.conveyorSeconds }

    /// A one-line summary.
    public var description: String {
        func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
        return "epoch \(epoch): \(batches) batches, \(rounded(batchesPerSecond)) batches/s, "
            + "\(rounded(samplesPerSecond)) samples/s, stall \(rounded(dataStallShare * 100))%, "
            + "workers busy \(workerBusyShare.map { rounded($0 * 100) })%, queues \(queueDepths)"
            + (failure.map { ", failed: \($0)" } ?? "")
    }
}

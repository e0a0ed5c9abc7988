/// Who makes the batches.
public enum WorkerBackend: Sendable, Hashable, Codable {
    /// The consumer itself, inside `next()`: no workers, no parallelism.
    case inline
    /// `n` worker threads in this process; samples may be any `Sendable` value.
    case threads(Int)
    /// `n` worker processes (this program re-run; see `WorkerProcess`), each
    /// collating its batches straight into shared memory. The dataset must be
    /// one a worker can make itself: a registered `DatasetDescription`.
    case processes(Int)

    /// The number of workers; 0 for `.inline`.
    public var workerCount: Int {
        switch self {
        case .inline: 0
        case let .threads(count), let .processes(count): count
        }
    }
}

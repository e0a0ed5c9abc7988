/// Where a loader is: enough to resume it exactly. Save it with a model
/// checkpoint; a loader created with `resumingFrom:` the saved state delivers
/// exactly the batches an uninterrupted run would have delivered next.
/// (With `.unordered` delivery, `nextBatch` is the first batch not yet
/// delivered; batches that overtook it are delivered again after a resume.)
///
/// ```swift
/// let saved = try JSONEncoder().encode(loader.state)
/// // … later, in a new process:
/// let state = try JSONDecoder().decode(LoaderState.self, from: saved)
/// let loader = try DataLoader(dataset, LoaderConfiguration(batchSize: 32, sampler: .shuffled), resumingFrom: state)
/// ```
public struct LoaderState: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The seed shuffles and per-sample randomness derive from.
    public var seed: UInt64
    /// The epoch to deliver from.
    public var epoch: Int
    /// The next batch of that epoch to deliver.
    public var nextBatch: Int
    /// The worker count of a sharded stream's loader (its batches depend on
    /// it, so it resumes only with as many); nil for other loaders.
    public var streamWorkers: Int?

    /// A state at batch `nextBatch` of `epoch` under `seed`.
    public init(seed: UInt64, epoch: Int, nextBatch: Int) {
        self.seed = seed
        self.epoch = epoch
        self.nextBatch = nextBatch
    }

    /// For example "seed 42, epoch 3, next batch 17".
    public var description: String { "seed \(seed), epoch \(epoch), next batch \(nextBatch)" }
}

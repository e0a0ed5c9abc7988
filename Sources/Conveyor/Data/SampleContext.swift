/// Where a sample is being made: the loader's seed, the epoch and the worker.
/// Everything random about a sample should come from `random(for:)`, so that
/// it depends on (seed, epoch, index) only and never on the worker count.
public struct SampleContext: Sendable, Hashable {
    /// The loader's base seed.
    public var seed: UInt64
    /// The epoch, from 0.
    public var epoch: Int
    /// The worker making the sample; nil when the consumer makes it (`.inline`).
    public var worker: Int?
    /// With a sharded stream (`Sampler.shards`): how its shards are read
    /// this epoch, so a stream dataset knows what its worker reads next.
    public var shardOrder: ShardOrder?

    /// A context for `epoch` under `seed`.
    public init(seed: UInt64 = 0, epoch: Int = 0, worker: Int? = nil) {
        self.seed = seed
        self.epoch = epoch
        self.worker = worker
    }

    /// The context of `plan`'s batches made by `worker` under `seed`.
    init(plan: BatchPlan, seed: UInt64, worker: Int?) {
        self.init(seed: seed, epoch: plan.epoch, worker: worker)
        shardOrder = plan.shardOrder
    }

    // The derivation rule of all per-item randomness, the loader's and the
    // `Prefetcher`'s (epoch 0): an item's stream is the seed refined by the
    // path [epoch, index]; a worker's seed, by [epoch, -1 - worker], so it
    // never equals an item's.

    /// The generator for the sample at `index`: derived from (seed, epoch, index).
    public func random(for index: Int) -> SeededRandom {
        SeededRandom(seed: seed, steps: epoch, index)
    }

    /// A seed derived from (seed, epoch, worker), for per-worker state such as
    /// another library's generator; nil inline. Results that use it depend on
    /// the worker count, so prefer `random(for:)`.
    public var workerSeed: UInt64? {
        worker.map(seed(ofWorker:))
    }

    /// The seed `workerSeed` gives worker `worker`: derived from (seed, epoch, worker).
    @usableFromInline
    func seed(ofWorker worker: Int) -> UInt64 {
        SeededRandom.derive(seed: seed, path: [epoch, -1 - worker])
    }

    /// Runs `body` for the sample at `index`; an error it throws becomes
    /// `.sourceFailed` naming the index, this context's worker and the error.
    public func blaming<Result>(index: Int, _ body: () throws -> Result) throws(ConveyorError) -> Result {
        do {
            return try body()
        } catch {
            throw ConveyorError(blaming: error, index: index, worker: worker)
        }
    }
}

/// What a producing closure of an indexed `Prefetcher` knows about the item
/// it makes: its index, the worker running it, and randomness that depends
/// only on (base seed, index), so results are the same whatever the number
/// of workers. A prefetcher has no epochs: its items are epoch 0 of the
/// loader's rule, so `random` is `SampleContext(seed: seed).random(for: index)`
/// and `workerSeed` is that of `SampleContext(seed: seed, worker: worker)`.
public struct ItemContext: Sendable {
    /// The item's index, in 0..<count.
    public let index: Int
    /// The worker producing it, in 0..<workers.
    public let worker: Int
    /// A seed derived from (base seed, worker), as `SampleContext.workerSeed`
    /// at epoch 0: for per-worker state such as a library's own generator.
    /// Results that use it depend on the worker count.
    public let workerSeed: UInt64
    /// A generator derived from (base seed, index), as `SampleContext.random(for:)`
    /// at epoch 0: use it for anything random about this item.
    public var random: SeededRandom

    @usableFromInline
    init(index: Int, worker: Int, workerSeed: UInt64, random: SeededRandom) {
        self.index = index
        self.worker = worker
        self.workerSeed = workerSeed
        self.random = random
    }
}

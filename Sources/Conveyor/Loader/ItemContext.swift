/// What a producing closure of an indexed `Prefetcher` knows about the item
/// it makes: its index, the worker running it, and randomness that depends
/// only on (base seed, index), so results are the same whatever the number
/// of workers. The rule is the loader's (`SampleContext.random(for:)`): the
/// base seed refined by the item's path, here `[index]` (a prefetcher has no
/// epochs), there `[epoch, index]`.
public struct ItemContext: Sendable {
    /// The item's index, in 0..<count.
    public let index: Int
    /// The worker producing it, in 0..<workers.
    public let worker: Int
    /// A seed derived from (base seed, worker): for per-worker state such as
    /// a library's own generator. Results that use it depend on the worker count.
    public let workerSeed: UInt64
    /// A generator derived from (base seed, index): use it for anything random
    /// about this item.
    public var random: SeededRandom

    @usableFromInline
    init(index: Int, worker: Int, workerSeed: UInt64, random: SeededRandom) {
        self.index = index
        self.worker = worker
        self.workerSeed = workerSeed
        self.random = random
    }
}

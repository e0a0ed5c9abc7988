/// Which worker makes which item of one iteration: the one assignment rule of
/// every parallel producer (the prefetcher's threads, the loader's threads and
/// its processes). Pure state, no threads, so it is tested on its own.
///
/// Of an iteration that starts at item `f`, worker `w` of `N` makes items
/// `f + w, f + w + N, …`, so item `k` is made by worker `(k − f) mod N` and
/// worker 0 makes the first item whatever `f` is. When the items have owners
/// (a sharded stream's batches belong to the worker reading their shards),
/// item `k` is made by `owners[k]` instead.
@usableFromInline
struct WorkerAssignment: Sendable, Hashable {
    /// The first item of the iteration.
    @usableFromInline let firstItem: Int
    /// Items in all: the iteration covers `firstItem..<itemCount`.
    @usableFromInline let itemCount: Int
    /// The number of workers, 1 or more.
    @usableFromInline let workerCount: Int
    /// Each item's worker, when fixed by the items themselves; nil: strided.
    @usableFromInline let owners: [Int]?

    /// The assignment of items `firstItem..<itemCount` to `workerCount` workers.
    @inlinable
    init(firstItem: Int, itemCount: Int, workerCount: Int, owners: [Int]? = nil) {
        precondition(workerCount >= 1, "an assignment needs at least 1 worker")
        self.firstItem = firstItem
        self.itemCount = itemCount
        self.workerCount = workerCount
        self.owners = owners
    }

    /// The worker that makes item `item`.
    @inlinable
    func worker(ofItem item: Int) -> Int {
        if let owners { return owners[item] }
        let offset = (item - firstItem) % workerCount
        return offset < 0 ? offset + workerCount : offset
    }

    /// The items worker `worker` makes, in the order it makes them.
    func items(ofWorker worker: Int) -> [Int] {
        if let owners { return (firstItem..<itemCount).filter { owners[$0] == worker } }
        return Array(stridedItems(ofWorker: worker))
    }

    /// The items worker `worker` makes when they have no owners, without
    /// making an array (an indexed prefetcher may have very many).
    @inlinable
    func stridedItems(ofWorker worker: Int) -> StrideTo<Int> {
        precondition(owners == nil, "items with owners are not strided")
        return stride(from: firstItem + worker, to: itemCount, by: workerCount)
    }
}

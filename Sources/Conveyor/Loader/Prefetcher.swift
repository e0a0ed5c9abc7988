import Synchronization

/// Keeps items ready ahead of a consumer.
///
/// Over a sequential source (an iterator, or a closure returning the next
/// item or nil) one producer thread keeps up to `depth` items ready; loading
/// overlaps consuming. Over an indexed source (`count` and an index → item
/// closure) `workers` threads produce in parallel, each index exactly once,
/// delivered in index order (`.ordered`, the default) or as ready
/// (`.unordered`). An error from the source reaches the consumer at the
/// position where it happened, after every item before it, and ends the
/// iteration. `stop()`, or dropping the prefetcher, ends every worker thread
/// before it returns.
///
/// ```swift
/// let images = try Prefetcher(count: paths.count, workers: 4, depth: 16) { index, context in
///     try decode(paths[index], flip: Bool.random(using: &context.random))
/// }
/// while let image = try images.next() { train(image) }     // or:
/// for try await image in images { train(image) }
/// ```
///
/// One consumer at a time: like an iterator, a prefetcher hands each item out
/// once, in its order, to whoever asks next.
public final class Prefetcher<Element: Sendable>: AsyncSequence, Sendable {
    /// What a lane carries: an item, or the failure at that position.
    @usableFromInline
    enum Outcome: Sendable {
        case item(Element)
        case failure(ConveyorError)
    }

    @usableFromInline let lanes: [BoundedQueue<Outcome>]
    /// Which lane's worker makes which item (one lane: all of them).
    @usableFromInline let assignment: WorkerAssignment
    /// Items in all (indexed source), or nil (sequential source).
    @usableFromInline let total: Int?
    /// Position of the next item the consumer takes (ordered delivery).
    @usableFromInline let cursor = Atomic<Int>(0)
    /// Set once the consumer has seen the end or an error, or after stop().
    @usableFromInline let finished = Atomic<Bool>(false)
    @usableFromInline let stopping = StopSignal()
    @usableFromInline let threads = ThreadGroup()
    /// Items the consumer gave back (`recycle`) for the workers to refill;
    /// nil unless the prefetcher was made with `recycling:`.
    @usableFromInline let spares: BoundedQueue<Element>?

    // MARK: Sequential sources

    /// Prefetches from `next`, called on one producer thread until it returns
    /// nil. At most `depth` items wait; throws if `depth` < 1.
    public convenience init(
        depth: Int = 10, _ next: sending @escaping () throws -> Element?
    ) throws(ConveyorError) {
        try self.init(lanes: 1, laneCapacity: depth, total: nil, label: "depth")
        let lane = lanes[0]
        let stopping = self.stopping
        try startOrStop {
            Prefetcher.produceSequentially(into: lane, stopping: stopping, next)
        }
    }

    /// Prefetches the elements of `iterator`, advanced on one producer thread.
    /// At most `depth` items wait; throws if `depth` < 1.
    public convenience init<Source: IteratorProtocol & SendableMetatype>(
        depth: Int = 10, iterator: sending Source
    ) throws(ConveyorError) where Source.Element == Element {
        var iterator = iterator
        try self.init(depth: depth) { iterator.next() }
    }

    // MARK: Indexed sources

    /// Produces items 0..<count with `workers` threads calling `produce`, each
    /// index exactly once. At most `depth` items wait (split among the
    /// workers). `seed` is the base of every `ItemContext`'s randomness.
    /// Throws for a negative count, fewer than 1 worker or a depth below 1.
    @inlinable
    public convenience init(
        count: Int, workers: Int = 2, depth: Int = 10, delivery: Delivery = .ordered, seed: UInt64 = 0,
        produce: @escaping @Sendable (_ index: Int, _ context: inout ItemContext) throws -> Element
    ) throws(ConveyorError) {
        try self.init(count: count, workers: workers, depth: depth, delivery: delivery, seed: seed, spares: nil,
                      produce: produce)
    }

    /// Produces items 0..<count as `init(count:workers:depth:delivery:seed:produce:)`
    /// does, reusing what the consumer is done with: `produce` gets, in
    /// `spare`, an item given back with `recycle(_:)` (nil when none waits),
    /// to refill in place of allocating a new one. Set `spare` to nil before
    /// changing the item, so that it is the only reference and its buffers
    /// are written in place.
    ///
    /// ```swift
    /// let frames = try Prefetcher(count: n, recycling: { index, _, spare in
    ///     guard var frame = spare else { return Frame(index) }
    ///     spare = nil
    ///     frame.refill(index)
    ///     return frame
    /// })
    /// while let frame = try frames.next() { use(frame); frames.recycle(frame) }
    /// ```
    @inlinable
    public convenience init(
        count: Int, workers: Int = 2, depth: Int = 10, delivery: Delivery = .ordered, seed: UInt64 = 0,
        recycling produce: @escaping @Sendable (_ index: Int, _ context: inout ItemContext, _ spare: inout Element?) throws
            -> Element
    ) throws(ConveyorError) {
        // Room for every item that can be in flight, so a recycled item is never dropped in the steady state.
        let spares = try BoundedQueue<Element>(capacity: Swift.max(1, depth) + Swift.max(1, workers))
        try self.init(count: count, workers: workers, depth: depth, delivery: delivery, seed: seed, spares: spares) {
            index, context in
            var spare = spares.tryGet()
            return try produce(index, &context, &spare)
        }
    }

    @inlinable
    convenience init(
        count: Int, workers: Int, depth: Int, delivery: Delivery, seed: UInt64, spares: BoundedQueue<Element>?,
        produce: @escaping @Sendable (_ index: Int, _ context: inout ItemContext) throws -> Element
    ) throws(ConveyorError) {
        guard count >= 0 else { throw .invalidArgument("a Prefetcher's count must be 0 or more, not \(count)") }
        guard workers >= 1 else { throw .invalidArgument("a Prefetcher needs at least 1 worker, not \(workers)") }
        guard depth >= 1 else { throw .invalidArgument("a Prefetcher needs a depth of at least 1, not \(depth)") }
        switch delivery {
        case .ordered:
            // One lane per worker; worker w makes the items the assignment
            // gives it (w, w+W, w+2W, …) and item k is read from its lane.
            let laneCapacity = Swift.max(1, (depth + workers - 1) / workers)
            try self.init(lanes: workers, laneCapacity: laneCapacity, total: count, label: "depth", spares: spares)
            for worker in 0..<workers {
                let plan = WorkerPlan(worker: worker, seed: seed, lane: lanes[worker], stopping: stopping)
                let items = assignment.stridedItems(ofWorker: worker)
                try startOrStop {
                    plan.produce(items, produce)
                    plan.lane.close()
                }
            }
        case .unordered:
            // One shared lane; workers claim the next index from a counter.
            try self.init(lanes: 1, laneCapacity: depth, total: count, label: "depth", spares: spares)
            let next = AtomicCounter()
            let remaining = AtomicCounter(workers)
            for worker in 0..<workers {
                let plan = WorkerPlan(worker: worker, seed: seed, lane: lanes[0], stopping: stopping)
                try startOrStop {
                    plan.produce(ClaimedIndices(counter: next, count: count), produce)
                    if remaining.decrement() == 0 { plan.lane.close() }
                }
            }
        }
    }

    @usableFromInline
    init(lanes: Int, laneCapacity: Int, total: Int?, label: String, spares: BoundedQueue<Element>? = nil)
        throws(ConveyorError) {
        guard laneCapacity >= 1 else {
            throw .invalidArgument("a Prefetcher needs a \(label) of at least 1, not \(laneCapacity)")
        }
        var queues: [BoundedQueue<Outcome>] = []
        for _ in 0..<lanes { queues.append(try BoundedQueue(capacity: laneCapacity)) }
        self.lanes = queues
        self.assignment = WorkerAssignment(firstItem: 0, itemCount: total ?? Int.max, workerCount: lanes)
        self.total = total
        self.spares = spares
    }

    deinit {
        stop()
    }

    /// Starts a worker thread; if that fails, stops the ones already started.
    @usableFromInline
    func startOrStop(_ body: sending @escaping () -> Void) throws(ConveyorError) {
        do {
            try threads.start(body)
        } catch {
            stop()
            throw error
        }
    }

    // MARK: Consuming

    /// The next item, waiting at most `timeout` for it (nil: no limit). Returns
    /// nil at the end of the source; throws the source's error at its
    /// position (then returns nil), or `.timedOut`.
    @inlinable
    public func next(timeout: Duration? = nil) throws(ConveyorError) -> Element? {
        guard let lane = currentLane() else { return nil }
        return try settle(try lane.get(timeout: timeout))
    }

    /// The next item, suspending the task while it is not ready; as `next(timeout:)`.
    public func next(timeout: Duration? = nil) async throws -> Element? {
        guard let lane = currentLane() else { return nil }
        return try settle(try await lane.get(timeout: timeout))
    }

    /// The lane holding the consumer's next item, or nil at the end.
    @inlinable
    func currentLane() -> BoundedQueue<Outcome>? {
        if finished.load(ordering: .acquiring) { return nil }
        let position = cursor.load(ordering: .relaxed)
        if let total, position >= total {
            finished.store(true, ordering: .releasing)
            return nil
        }
        return lanes[assignment.worker(ofItem: position)]
    }

    /// Advances past a delivered outcome; nil (the lane ended) ends the iteration.
    @inlinable
    func settle(_ outcome: Outcome?) throws(ConveyorError) -> Element? {
        switch outcome {
        case let .item(element)?:
            cursor.wrappingAdd(1, ordering: .relaxed)
            return element
        case let .failure(error)?:
            finished.store(true, ordering: .releasing)
            stop()
            throw error
        case nil:
            finished.store(true, ordering: .releasing)
            return nil
        }
    }

    /// Gives an item the consumer is done with back to the workers, to be
    /// refilled by a prefetcher made with `recycling:` (dropped otherwise,
    /// or when enough spares wait already). Pass the last reference
    /// (`recycle(consume item)`), or the worker's refill copies the buffers.
    @inlinable
    public func recycle(_ element: sending Element) {
        _ = try? spares?.tryPut(element)
    }

    /// Ends every worker thread and returns once they have ended. Items not
    /// yet taken are dropped; later calls to `next` return nil.
    public func stop() {
        finished.store(true, ordering: .releasing)
        stopping.raise()
        for lane in lanes { lane.close() }
        threads.joinAll()
    }

    /// Items ready for the consumer now, in all lanes.
    public var readyCount: Int { lanes.reduce(0) { $0 + $1.count } }

    // MARK: AsyncSequence

    /// Iterates with `for try await item in prefetcher`.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let prefetcher: Prefetcher

        /// The next item, or nil at the end.
        public mutating func next() async throws -> Element? {
            try await prefetcher.next(timeout: nil)
        }
    }

    /// An iterator over the remaining items.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(prefetcher: self)
    }

    // MARK: Producing (runs on worker threads)

    private static func produceSequentially(
        into lane: BoundedQueue<Outcome>, stopping: StopSignal, _ next: () throws -> Element?
    ) {
        defer { lane.close() }
        var position = 0
        while !stopping.isRaised {
            let outcome: Outcome
            do {
                guard let element = try next() else { return }
                outcome = .item(element)
            } catch {
                outcome = .failure(ConveyorError(blaming: error, index: position, worker: 0))
            }
            do { try lane.put(outcome) } catch { return }
            if case .failure = outcome { return }
            position += 1
        }
    }

    /// One worker of an indexed source: what it needs to make its items.
    @usableFromInline
    struct WorkerPlan: Sendable {
        @usableFromInline let worker: Int
        @usableFromInline let seed: UInt64
        @usableFromInline let lane: BoundedQueue<Outcome>
        @usableFromInline let stopping: StopSignal

        @inlinable
        init(worker: Int, seed: UInt64, lane: BoundedQueue<Outcome>, stopping: StopSignal) {
            self.worker = worker
            self.seed = seed
            self.lane = lane
            self.stopping = stopping
        }

        /// Makes the items of `indices` into the lane, until the first
        /// failure (delivered in its place) or a stop.
        @inlinable
        func produce<Indices: Sequence>(
            _ indices: Indices, _ make: (Int, inout ItemContext) throws -> Element
        ) where Indices.Element == Int {
            let rule = SampleContext(seed: seed, epoch: 0, worker: worker)
            let workerSeed = rule.seed(ofWorker: worker)
            WorkerProduction.run(
                indices,
                isStopped: { stopping.isRaised },
                make: { index throws(ConveyorError) in
                    var context = ItemContext(
                        index: index, worker: worker, workerSeed: workerSeed,
                        random: rule.random(for: index))
                    return try ConveyorError.blaming(index: index, worker: worker) { try make(index, &context) }
                },
                deliver: { _, outcome in
                    let delivered: Outcome =
                        switch outcome {
                        case let .success(element): .item(element)
                        case let .failure(error): .failure(error)
                        }
                    return (try? lane.put(delivered)) != nil  // closed: the prefetcher stopped
                })
        }
    }

    /// Indices claimed one at a time from a shared counter, below `count`.
    @usableFromInline
    struct ClaimedIndices: Sequence, IteratorProtocol {
        @usableFromInline let counter: AtomicCounter
        @usableFromInline let count: Int

        @inlinable
        init(counter: AtomicCounter, count: Int) {
            self.counter = counter
            self.count = count
        }

        @inlinable
        mutating func next() -> Int? {
            let index = counter.next()
            return index < count ? index : nil
        }
    }
}

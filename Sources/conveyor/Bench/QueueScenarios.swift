import AsyncAlgorithms
import Conveyor

extension BenchCatalog {
    /// In-process scenarios: the bounded queue and the prefetcher.
    static var queueScenarios: [BenchScenario] {
        [
            BenchScenario(name: "handoff-ints", summary: "1 producer thread → 1 consumer, 200,000 ints, queue of 10") { quick in
                [
                    try await BenchSupport.best(quick: quick) { try handoffBlocking() },
                    try await BenchSupport.best(quick: quick) { try await handoffAsync() },
                    await BenchSupport.best(quick: quick) { await handoffAsyncStream() },
                    await BenchSupport.best(quick: quick) { await handoffAsyncChannel() },
                ]
            },
            BenchScenario(name: "threads-4k", summary: "2 producer threads → 1 consumer, 20,000 items of 4,160 B") { quick in
                [try await BenchSupport.best(quick: quick) {
                    try prefetchItems(scenario: "threads-4k", items: 20_000, floats: 1_024, ints: 16)
                }, try await BenchSupport.best(quick: quick) {
                    try prefetchItems(scenario: "threads-4k", items: 20_000, floats: 1_024, ints: 16, recycling: true)
                }]
            },
            BenchScenario(name: "threads-256k", summary: "2 producer threads → 1 consumer, 2,000 items of 262,208 B") { quick in
                [try await BenchSupport.best(quick: quick) {
                    try prefetchItems(scenario: "threads-256k", items: 2_000, floats: 65_536, ints: 16)
                }, try await BenchSupport.best(quick: quick) {
                    try prefetchItems(scenario: "threads-256k", items: 2_000, floats: 65_536, ints: 16, recycling: true)
                }]
            },
            BenchScenario(name: "prefetch-sleep-threads", summary: "2 threads, 100 items of 256k, 20 ms to make, 10 ms to use; ideal 1.0 s") { quick in
                [try await BenchSupport.best(quick: quick) {
                    try prefetchItems(scenario: "prefetch-sleep-threads", items: 100, floats: 65_536, ints: 16,
                                      produceSeconds: 0.020, consumeSeconds: 0.010)
                }]
            },
            BenchScenario(name: "idle-wait-queue", summary: "CPU used by a consumer blocked 1 s on an empty BoundedQueue") { _ in
                [try idleWait()]
            },
        ]
    }

    static let handoffItems = 200_000

    /// handoff-ints with blocking put/get on two threads.
    static func handoffBlocking() throws -> BenchRow {
        let queue = try BoundedQueue<Int>(capacity: 10)
        let n = handoffItems
        let start = BenchSupport.now()
        // Both sides on threads of their own, as a training loop's main thread
        // and a loader thread would be (not on the async command's pool thread).
        let outOfOrder = BenchSupport.onThreads(2) { side in
            if side == 0 {
                for k in 0..<n { try! queue.put(k) }
                return 0
            }
            var outOfOrder = 0
            for k in 0..<n where (try? queue.get()) != k { outOfOrder += 1 }
            return outOfOrder
        }[1]
        let seconds = BenchSupport.now() - start
        return BenchRow(scenario: "handoff-ints", impl: "conveyor BoundedQueue (threads)", items: n, itemBytes: 8,
                        workers: 1, seconds: seconds, corrupt: outOfOrder)
    }

    /// handoff-ints with the async put/get on two tasks.
    static func handoffAsync() async throws -> BenchRow {
        let queue = try BoundedQueue<Int>(capacity: 10)
        let n = handoffItems
        let start = BenchSupport.now()
        let producer = Task.detached {
            for k in 0..<n { try await queue.put(k) }
        }
        var outOfOrder = 0
        for k in 0..<n where try await queue.get() != k { outOfOrder += 1 }
        let seconds = BenchSupport.now() - start
        try await producer.value
        return BenchRow(scenario: "handoff-ints", impl: "conveyor BoundedQueue (async)", items: n, itemBytes: 8,
                        workers: 1, seconds: seconds, corrupt: outOfOrder)
    }

    /// handoff-ints through AsyncStream with a bounded buffer of 10; the
    /// producer yields again (after Task.yield) whenever an item was dropped,
    /// which is how a bounded AsyncStream gets back-pressure.
    static func handoffAsyncStream() async -> BenchRow {
        let (stream, continuation) = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingOldest(10))
        return await handoff(through: stream, impl: "AsyncStream (bufferingOldest 10)") { n in
            for k in 0..<n {
                while case .dropped = continuation.yield(k) { await Task.yield() }
            }
            continuation.finish()
        }
    }

    /// handoff-ints through swift-async-algorithms' AsyncChannel (a rendezvous).
    static func handoffAsyncChannel() async -> BenchRow {
        let channel = AsyncChannel<Int>()
        return await handoff(through: channel, impl: "AsyncChannel (async-algorithms)") { n in
            for k in 0..<n { await channel.send(k) }
            channel.finish()
        }
    }

    /// Times `produce(n)` in a detached task against a consumer iterating
    /// `sequence` and checking the order.
    static func handoff<Sequence: AsyncSequence & Sendable>(
        through sequence: Sequence, impl: String, produce: @escaping @Sendable (Int) async -> Void
    ) async -> BenchRow where Sequence.Element == Int {
        let n = handoffItems
        let start = BenchSupport.now()
        let producer = Task.detached { await produce(n) }
        var outOfOrder = 0, expected = 0
        do {
            for try await k in sequence {
                if k != expected { outOfOrder += 1 }
                expected += 1
            }
        } catch {
            outOfOrder += 1
        }
        let seconds = BenchSupport.now() - start
        await producer.value
        return BenchRow(scenario: "handoff-ints", impl: impl, items: n, itemBytes: 8,
                        workers: 1, seconds: seconds, corrupt: outOfOrder, missing: n - expected)
    }

    /// threads-* and prefetch-sleep-threads: a Prefetcher with 2 worker
    /// threads over an indexed source, queue depth 10, ordered delivery.
    /// With `recycling`, the consumer gives each item back when it has
    /// checked it and the workers refill it in place of allocating anew.
    static func prefetchItems(
        scenario: String, items: Int, floats: Int, ints: Int,
        produceSeconds: Double = 0, consumeSeconds: Double = 0, recycling: Bool = false
    ) throws -> BenchRow {
        let start = BenchSupport.now()
        let make = { @Sendable (index: Int, spare: inout ScenarioItem?) -> ScenarioItem in
            if produceSeconds > 0 { BenchSupport.sleep(seconds: produceSeconds) }
            guard var item = spare else { return ScenarioItem(index, floats: floats, ints: ints) }
            spare = nil
            item.refill(index)
            return item
        }
        let prefetcher = recycling
            ? try Prefetcher<ScenarioItem>(count: items, workers: 2, depth: 10, recycling: { index, _, spare in
                make(index, &spare)
            })
            : try Prefetcher<ScenarioItem>(count: items, workers: 2, depth: 10) { index, _ in
                var none: ScenarioItem?
                return make(index, &none)
            }
        var check = DeliveryCheck(items: items)
        var waited = 0.0, slept = 0.0
        while true {
            let asked = BenchSupport.now()
            guard let item = try prefetcher.next(timeout: .seconds(120)) else { break }
            let got = BenchSupport.now()
            waited += got - asked
            check.record(index: item.index, intact: item.isIntact(item.index))
            if consumeSeconds > 0 {
                BenchSupport.sleep(seconds: consumeSeconds)
                slept += BenchSupport.now() - got
            }
            if recycling { prefetcher.recycle(consume item) }
        }
        let seconds = BenchSupport.now() - start
        var row = BenchRow(scenario: scenario, impl: "conveyor Prefetcher (2 threads\(recycling ? ", recycling" : ""))", items: items,
                           itemBytes: (floats + ints) * 4, workers: 2, seconds: seconds,
                           corrupt: check.corrupt, missing: check.missing, duplicated: check.duplicated)
        if produceSeconds > 0 {
            row.efficiency = (1.0 / seconds * 1000).rounded() / 1000
            // Where the time above the ideal went: the consumer's wait for data
            // (the first item cannot come before it is made) and its own sleeps.
            row.note = "consumer waited \(Int((waited * 1000).rounded())) ms for data (first item \(Int(produceSeconds * 1000)) ms to make); "
                + "its \(items) sleeps of \(Int(consumeSeconds * 1000)) ms took \(Int((slept * 1000).rounded())) ms"
        }
        return row
    }

    /// A consumer blocked for one second on an empty queue: its CPU time.
    static func idleWait() throws -> BenchRow {
        let queue = try BoundedQueue<Int>(capacity: 10)
        let start = BenchSupport.now()
        let cpuBefore = BenchSupport.threadCPUSeconds(), sleepsBefore = BenchSupport.threadSleeps()
        _ = try? queue.get(timeout: .seconds(1))
        let cpu = BenchSupport.threadCPUSeconds() - cpuBefore
        let sleeps = BenchSupport.threadSleeps() - sleepsBefore
        let seconds = BenchSupport.now() - start
        var row = BenchRow(scenario: "idle-wait-queue", impl: "conveyor BoundedQueue.get", items: 0, itemBytes: 0,
                           workers: 0, seconds: seconds)
        row.idle_cpu_percent = (cpu / seconds * 100 * 1000).rounded() / 1000
        row.idle_wakeups_per_s = (Double(sleeps) / seconds * 10).rounded() / 10
        return row
    }
}

import Testing
@testable import Conveyor

private struct Boom: Error, CustomStringConvertible {
    let at: Int
    var description: String { "boom at \(at)" }
}

/// Waits (without asserting any speed) until `counter` stops changing.
private func settledValue(of counter: AtomicCounter) -> Int {
    var last = counter.current
    while true {
        let deadline = Deadline.after(.milliseconds(50))!
        while !deadline.hasPassed { SystemCalls.yieldProcessor() }
        let now = counter.current
        if now == last { return now }
        last = now
    }
}

@Suite struct PrefetcherTests {
    @Test func sequentialClosureInOrderAndEnds() throws {
        let counter = AtomicCounter()
        let prefetcher = try Prefetcher<Int>(depth: 4) { @Sendable in
            let k = counter.next()
            return k < 1_000 ? k : nil
        }
        var got: [Int] = []
        while let k = try prefetcher.next(timeout: .seconds(30)) { got.append(k) }
        #expect(got == Array(0..<1_000))
        #expect(try prefetcher.next() == nil)
    }

    @Test func sequentialIteratorAsync() async throws {
        let prefetcher = try Prefetcher(depth: 2, iterator: (0..<300).map { "item \($0)" }.makeIterator())
        var got: [String] = []
        for try await item in prefetcher { got.append(item) }
        #expect(got == (0..<300).map { "item \($0)" })
    }

    @Test func producerRunsAheadAtMostDepth() throws {
        let produced = AtomicCounter()
        let prefetcher = try Prefetcher<Int>(depth: 3) { @Sendable in produced.next() }
        // The queue holds 3 and the producer may hold one more in hand.
        #expect(settledValue(of: produced) <= 4)
        #expect(try prefetcher.next(timeout: .seconds(30)) == 0)
        prefetcher.stop()
    }

    @Test func sequentialErrorArrivesAtItsPosition() throws {
        let counter = AtomicCounter()
        let prefetcher = try Prefetcher<Int>(depth: 8) { @Sendable in
            let k = counter.next()
            if k == 5 { throw Boom(at: k) }
            return k
        }
        for k in 0..<5 { #expect(try prefetcher.next(timeout: .seconds(30)) == k) }
        #expect(throws: ConveyorError.sourceFailed(index: 5, worker: 0, message: "boom at 5")) {
            _ = try prefetcher.next(timeout: .seconds(30))
        }
        #expect(try prefetcher.next() == nil)
    }

    @Test(arguments: [1, 2, 3, 5])
    func indexedOrderedDeliversEachIndexOnceInOrder(workers: Int) throws {
        let prefetcher = try Prefetcher(count: 500, workers: workers, depth: 7) { index, context in
            // Uneven costs, so workers finish out of order.
            if index % 17 == 0 { SystemCalls.yieldProcessor() }
            return index * 2
        }
        var got: [Int] = []
        while let k = try prefetcher.next(timeout: .seconds(30)) { got.append(k) }
        #expect(got == (0..<500).map { $0 * 2 })
    }

    @Test(arguments: [1, 3])
    func indexedUnorderedDeliversEachIndexOnce(workers: Int) throws {
        let prefetcher = try Prefetcher(count: 2_000, workers: workers, delivery: .unordered) { index, _ in index }
        var got: [Int] = []
        while let k = try prefetcher.next(timeout: .seconds(30)) { got.append(k) }
        #expect(got.count == 2_000)
        #expect(Set(got) == Set(0..<2_000))
    }

    @Test func emptyIndexedSourceEndsAtOnce() throws {
        let prefetcher = try Prefetcher(count: 0, workers: 2) { index, _ in index }
        #expect(try prefetcher.next(timeout: .seconds(30)) == nil)
    }

    @Test(arguments: [1, 2, 4])
    func indexedErrorNamesIndexAndWorker(workers: Int) throws {
        let prefetcher = try Prefetcher(count: 100, workers: workers) { index, _ in
            if index == 37 { throw Boom(at: index) }
            return index
        }
        for k in 0..<37 { #expect(try prefetcher.next(timeout: .seconds(30)) == k) }
        #expect(throws: ConveyorError.sourceFailed(index: 37, worker: 37 % workers, message: "boom at 37")) {
            _ = try prefetcher.next(timeout: .seconds(30))
        }
        #expect(try prefetcher.next() == nil)
    }

    @Test func randomnessDependsOnIndexNotWorkerCount() throws {
        func draws(workers: Int) throws -> [UInt64] {
            let prefetcher = try Prefetcher(count: 64, workers: workers, seed: 1234) { _, context in
                context.random.next()
            }
            var out: [UInt64] = []
            while let value = try prefetcher.next(timeout: .seconds(30)) { out.append(value) }
            return out
        }
        let one = try draws(workers: 1)
        #expect(try draws(workers: 3) == one)
        #expect(Set(one).count == 64)
    }

    @Test func workerSeedsDifferPerWorker() throws {
        let prefetcher = try Prefetcher(count: 4, workers: 4, seed: 5) { _, context in context.workerSeed }
        var seeds: [UInt64] = []
        while let seed = try prefetcher.next(timeout: .seconds(30)) { seeds.append(seed) }
        #expect(Set(seeds).count == 4)
        #expect(seeds[2] == SampleContext(seed: 5, epoch: 0, worker: 2).workerSeed)
    }

    @Test(arguments: [(Delivery.ordered, 1), (.ordered, 3), (.unordered, 2)])
    func recycledItemsAreRefilledInsteadOfMade(delivery: Delivery, workers: Int) throws {
        let made = AtomicCounter()
        let prefetcher = try Prefetcher<Refillable>(count: 1_000, workers: workers, depth: 4, delivery: delivery,
                                                    recycling: { index, _, spare in
            guard let item = spare else {
                _ = made.next()
                return Refillable(index)
            }
            spare = nil
            item.value = index
            return item
        })
        var seen = Set<Int>()
        while let item = try prefetcher.next(timeout: .seconds(60)) {
            if delivery == .ordered { #expect(item.value == seen.count) }
            seen.insert(item.value)
            prefetcher.recycle(item)
        }
        #expect(seen == Set(0..<1_000))
        // At most the items in flight are ever made (lanes, one per worker, the consumer's); far fewer than 1,000.
        #expect(made.current >= 1 && made.current <= 250)
    }

    @Test func aRefillNeverChangesAnItemTheConsumerStillHolds() throws {
        let prefetcher = try Prefetcher<[Int]>(count: 200, workers: 2, depth: 4, recycling: { index, _, spare in
            guard var item = spare else { return [Int](repeating: index, count: 64) }
            spare = nil
            for position in item.indices { item[position] = index }
            return item
        })
        var kept: [[Int]] = []
        while let item = try prefetcher.next(timeout: .seconds(60)) {
            kept.append(item)
            prefetcher.recycle(item)  // not the last reference: the refill copies
        }
        #expect(kept.count == 200)
        for (k, item) in kept.enumerated() { #expect(item == [Int](repeating: k, count: 64)) }
    }

    @Test func recycleWithoutRecyclingDropsTheItem() throws {
        let prefetcher = try Prefetcher(count: 10, workers: 2) { index, _ in [index] }
        var out: [Int] = []
        while let item = try prefetcher.next(timeout: .seconds(30)) {
            out += item
            prefetcher.recycle(item)
        }
        #expect(out == Array(0..<10))
    }

    @Test func stopEndsWorkersWithItemsInFlight() throws {
        let produced = AtomicCounter()
        let prefetcher = try Prefetcher(count: 1_000_000, workers: 3, depth: 6) { index, _ in
            _ = produced.next()
            return index
        }
        #expect(try prefetcher.next(timeout: .seconds(30)) == 0)
        prefetcher.stop()
        let after = produced.current
        #expect(settledValue(of: produced) == after)  // no worker runs once stop() returned
        #expect(after < 1_000_000)
        #expect(try prefetcher.next() == nil)
    }

    @Test func droppingThePrefetcherEndsItsWorkers() throws {
        let produced = AtomicCounter()
        do {
            let prefetcher = try Prefetcher(count: 1_000_000, workers: 2) { index, _ in
                _ = produced.next()
                return index
            }
            _ = try prefetcher.next(timeout: .seconds(30))
        }
        let after = produced.current
        #expect(settledValue(of: produced) == after)
    }

    @Test func rejectsBadArguments() {
        #expect(throws: ConveyorError.self) { try Prefetcher(count: 10, workers: 0) { i, _ in i } }
        #expect(throws: ConveyorError.self) { try Prefetcher(count: 10, depth: 0) { i, _ in i } }
        #expect(throws: ConveyorError.self) { try Prefetcher(count: -1) { i, _ in i } }
        #expect(throws: ConveyorError.self) { try Prefetcher<Int>(depth: 0) { @Sendable in nil } }
    }

    @Test func timeoutWhileTheSourceIsSlow() throws {
        let gate = try BoundedQueue<Int>(capacity: 1)
        let prefetcher = try Prefetcher<Int>(depth: 1) { @Sendable in try gate.get(timeout: .seconds(30)) }
        #expect(throws: ConveyorError.self) { _ = try prefetcher.next(timeout: .milliseconds(20)) }
        try gate.put(42)
        #expect(try prefetcher.next(timeout: .seconds(30)) == 42)
        gate.close()
        #expect(try prefetcher.next(timeout: .seconds(30)) == nil)
    }
}

/// An item a recycling test refills in place (a class, so that reuse is visible).
private final class Refillable: @unchecked Sendable {
    // @unchecked: one thread at a time owns an item (the worker refilling it, then the consumer).
    var value: Int
    init(_ value: Int) { self.value = value }
}

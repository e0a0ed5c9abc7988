import Testing
@testable import Conveyor

@Suite struct BoundedQueueTests {
    @Test func rejectsCapacityBelowOne() {
        #expect(throws: ConveyorError.invalidArgument("a BoundedQueue needs a capacity of at least 1, not 0")) {
            try BoundedQueue<Int>(capacity: 0)
        }
        #expect(throws: ConveyorError.self) { try BoundedQueue<Int>(capacity: -3) }
    }

    @Test func firstInFirstOutWithInfo() throws {
        let queue = try BoundedQueue<String>(capacity: 3)
        #expect(queue.isEmpty && !queue.isFull && queue.description == "0/3")
        try queue.put("a")
        try queue.put("b")
        #expect(try queue.tryPut("c"))
        #expect(try !queue.tryPut("d"))
        #expect(queue.isFull && queue.count == 3 && queue.description == "3/3")
        #expect(try queue.get() == "a")
        #expect(queue.tryGet() == "b")
        #expect(try queue.get(timeout: .zero) == "c")
        #expect(queue.tryGet() == nil)
        queue.close()
        #expect(queue.description == "0/3 closed")
    }

    @Test func getTimesOutOnEmptyQueue() throws {
        let queue = try BoundedQueue<Int>(capacity: 2)
        #expect {
            _ = try queue.get(timeout: .milliseconds(30))
        } throws: { error in
            guard case let ConveyorError.timedOut(operation, after)? = error as? ConveyorError else { return false }
            return operation.contains("get") && after == .milliseconds(30)
        }
    }

    @Test func putTimesOutOnFullQueueAndKeepsContents() throws {
        let queue = try BoundedQueue<Int>(capacity: 2)
        try queue.put(1)
        try queue.put(2)
        #expect {
            try queue.put(3, timeout: .milliseconds(30))
        } throws: { error in
            guard case let ConveyorError.timedOut(operation, _)? = error as? ConveyorError else { return false }
            return operation.contains("put")
        }
        #expect(try queue.get() == 1)
        #expect(try queue.get() == 2)
        #expect(queue.tryGet() == nil)
    }

    @Test func closeDrainsThenEnds() throws {
        let queue = try BoundedQueue<Int>(capacity: 4)
        try queue.put(1)
        try queue.put(2)
        queue.close()
        #expect(throws: ConveyorError.closed("the BoundedQueue")) { try queue.put(3) }
        #expect(throws: ConveyorError.closed("the BoundedQueue")) { _ = try queue.tryPut(3) }
        #expect(try queue.get() == 1)
        #expect(try queue.get() == 2)
        #expect(try queue.get() == nil)
        #expect(try queue.get(timeout: .zero) == nil)
    }

    @Test func closeWakesBlockedGettersAndPutters() throws {
        let empty = try BoundedQueue<Int>(capacity: 1)
        let full = try BoundedQueue<Int>(capacity: 1)
        try full.put(0)
        let results = Locked<[String]>([])
        let threads = ThreadGroup()
        for _ in 0..<3 {
            try threads.start { @Sendable in
                let got = try? empty.get()  // no timeout: only close can end it
                results.withLock { $0.append(got == nil ? "get:nil" : "get:item") }
            }
            try threads.start { @Sendable in
                do {
                    try full.put(1)
                    results.withLock { $0.append("put:ok") }
                } catch {
                    results.withLock { $0.append((error as? ConveyorError) == .closed("the BoundedQueue") ? "put:closed" : "put:\(error)") }
                }
            }
        }
        // Let them block (if they have not yet, they see the closed queue at once).
        let deadline = Deadline.after(.milliseconds(50))!
        while !deadline.hasPassed { SystemCalls.yieldProcessor() }
        empty.close()
        full.close()
        threads.joinAll()
        #expect(results.current.sorted() == ["get:nil", "get:nil", "get:nil", "put:closed", "put:closed", "put:closed"])
    }

    /// Many producers and consumers with random timeouts and a close while
    /// consumers wait: every item arrives exactly once, and each consumer sees
    /// each producer's items in the order they were put.
    @Test(arguments: [1, 3, 10])
    func exactlyOnceUnderStress(capacity: Int) throws {
        let producers = 4, consumers = 4, perProducer = 5_000
        let queue = try BoundedQueue<Int>(capacity: capacity)
        let received = Locked<[[Int]]>(Array(repeating: [], count: consumers))
        let orderViolations = AtomicCounter()
        let threads = ThreadGroup()
        for consumer in 0..<consumers {
            try threads.start { @Sendable in
                var random = SeededRandom(seed: 7, path: [consumer])
                var mine: [Int] = []
                var lastFromProducer = Array(repeating: -1, count: producers)
                while true {
                    let timeout: Duration = .microseconds(Int.random(in: 1...2_000, using: &random))
                    do {
                        guard let item = try queue.get(timeout: timeout) else { break }
                        let producer = item / perProducer
                        if item <= lastFromProducer[producer] { _ = orderViolations.next() }
                        lastFromProducer[producer] = item
                        mine.append(item)
                    } catch {
                        continue  // a timeout: try again
                    }
                }
                received.withLock { $0[consumer] = mine }
            }
        }
        let producing = ThreadGroup()
        for producer in 0..<producers {
            try producing.start { @Sendable in
                var random = SeededRandom(seed: 9, path: [producer])
                var k = producer * perProducer
                while k < (producer + 1) * perProducer {
                    let timeout: Duration = .microseconds(Int.random(in: 1...2_000, using: &random))
                    if (try? queue.put(k, timeout: timeout)) != nil { k += 1 }
                }
            }
        }
        producing.joinAll()
        queue.close()
        threads.joinAll()
        let all = received.current.flatMap { $0 }
        #expect(all.count == producers * perProducer)
        #expect(Set(all).count == producers * perProducer)
        #expect(orderViolations.current == 0)
    }

    @Test func asyncPutAndGet() async throws {
        let queue = try BoundedQueue<Int>(capacity: 2)
        let n = 2_000
        let producer = Task {
            for k in 0..<n { try await queue.put(k) }
            queue.close()
        }
        var got: [Int] = []
        while let k = try await queue.get() { got.append(k) }
        try await producer.value
        #expect(got == Array(0..<n))
    }

    @Test func asyncTimeoutsAndCancellation() async throws {
        let queue = try BoundedQueue<Int>(capacity: 1)
        await #expect(throws: ConveyorError.self) { _ = try await queue.get(timeout: .milliseconds(20)) }
        try await queue.put(1)
        await #expect(throws: ConveyorError.self) { try await queue.put(2, timeout: .milliseconds(20)) }
        #expect(try await queue.get() == 1)

        let waiter = Task { try await queue.get() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }

        let closedWaiter = Task { try await queue.get() }
        try await Task.sleep(for: .milliseconds(20))
        queue.close()
        #expect(try await closedWaiter.value == nil)
    }

    /// A blocked thread and a blocked task are both woken by the other side.
    @Test func mixedBlockingAndAsync() async throws {
        let queue = try BoundedQueue<Int>(capacity: 1)
        let threads = ThreadGroup()
        try threads.start { @Sendable in
            for k in 0..<500 { try? queue.put(k) }
            queue.close()
        }
        var sum = 0
        while let k = try await queue.get(timeout: .seconds(30)) { sum += k }
        threads.joinAll()
        #expect(sum == (0..<500).reduce(0, +))
    }
}

import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// Times the calling thread went to sleep so far (getrusage's voluntary
/// context switches): each futex sleep is one, each wake-up ends one.
func voluntarySleeps() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(1), &usage)  // 1 = RUSAGE_THREAD (not imported)
    return usage.ru_nvcsw
}

/// The prefix of the tests' own segment names (`privateSegmentName()`).
let testSegmentPrefix = "conveyor-test-"

/// A fresh segment name outside `SharedRing.namePrefix`: the other tests'
/// leak checks count every segment under that prefix that this process
/// creates, so a test running beside them uses names they do not see.
/// The first call in a test process removes what killed test processes left.
func privateSegmentName() -> String {
    _ = leftoversRemovedAtStart
    return testSegmentPrefix + "\(SystemCalls.processID())-\(UInt64.random(in: 0...UInt64.max))"
}

/// Removes the segments named `testSegmentPrefix`… whose creator has ended
/// (a test process killed before its rings were dropped); the names removed.
/// Segments of live test processes, this one's and other runs', are kept.
@discardableResult
func removeLeftoverTestSegments() -> [String] {
    SharedRing.removeStaleSegments(namedWith: testSegmentPrefix)
}

/// Set once, by the first `privateSegmentName()` of this test process.
private let leftoversRemovedAtStart: Bool = {
    removeLeftoverTestSegments()
    return true
}()

extension SharedRingTests {
    /// How a ring's producers and consumers begin, end and learn of each
    /// other's ends: lane ownership, finishing, deaths noticed without
    /// polling, the wait for a first consumer, and attaching to longer files.
    @Suite struct RingLifecycleTests {
        func put(_ producer: RingProducer, _ k: Int) throws {
            try producer.put([RingColumn([Float](repeating: Float(k), count: helperRows(k, maximum: 64))),
                              RingColumn([Int32](repeating: Int32(k), count: 4))], timeout: .seconds(5))
        }

        func waitUntilGone(_ process: HelperProcess) throws {
            try process.child.kill()
            _ = try process.child.wait(timeout: .seconds(30))
        }

        /// The owner word holds pid and start tag together: a new producer
        /// taking a dead one's lane replaces both in one CAS, so nobody can
        /// see the new pid with the dead one's start time (and call it dead).
        @Test func aNewOwnerTakesADeadLaneInOneStep() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
            let dead = try HelperProcess(["produce", "--count", "1", "--hold"], ring: ring)
            _ = try dead.waitForLine("produced")
            try waitUntilGone(dead)
            let owner = ring.memory.lane(0).owner
            #expect(PeerIdentity(word: owner.pointee.load(ordering: .acquiring))?.pid == dead.pid)
            let producer = try ring.producer(lane: 0)
            #expect(owner.pointee.load(ordering: .acquiring) == PeerIdentity.own.word)
            #expect(ring.info.lanes[0].producerPID == SystemCalls.processID())
            #expect(ring.info.lanes[0].producerState == .running)
            // The dead producer's item is delivered; its lane is no longer its, so no death is reported.
            let consumer = try ring.consumer()
            var checker = ItemChecker()
            try checker.check(consumer.next(timeout: .seconds(30)))
            #expect(checker.seen == [0])
            #expect {
                _ = try consumer.next(timeout: .milliseconds(50))
            } throws: { error in
                guard case let ConveyorError.timedOut(operation, _) = error else { return false }
                return operation.contains("pid \(SystemCalls.processID())") && operation.contains("running")
            }
            _ = producer
        }

        /// Producers that finish end the stream: the consumer gets every item
        /// of every lane, then nil, and no death; a finished lane stays closed
        /// to new producers until a reset reopens it.
        @Test func finishedProducersEndTheStreamAfterEveryItem() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 4)
                let consumer = try ring.consumer()
                let producers = try [(0, 0, 9), (1, 100, 4)].map { lane, start, count in
                    try HelperProcess(["produce", "--lane", "\(lane)", "--start", "\(start)", "--count", "\(count)",
                                       "--finish", "--exit-code", "0"], ring: ring)
                }
                var checker = ItemChecker()
                while let lease = try consumer.nextItem(timeout: .seconds(30), coldBoot: true) {
                    try checker.check(lease)
                }
                #expect(checker.seen == Set(0..<9).union(100..<104))
                #expect(checker.corrupt == 0 && checker.duplicated == 0)
                for producer in producers {
                    #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
                }
                // Still the end, whoever asks, however often; `next` says so with `.closed`.
                #expect(try consumer.nextItem(timeout: .seconds(1)) == nil)
                #expect {
                    _ = try consumer.next(timeout: .seconds(1))
                } throws: { error in
                    guard case let ConveyorError.closed(what) = error else { return false }
                    return what.contains("finished")
                }
                #expect(ring.info.lanes.allSatisfy { $0.finished && $0.producerPID == nil })
                #expect {
                    _ = try ring.producer(lane: 1)
                } throws: { error in
                    guard case let ConveyorError.unavailable(message) = error else { return false }
                    return message.contains("finished")
                }
                ring.reset()
                #expect(ring.info.lanes.allSatisfy { !$0.finished })
                let again = try ring.producer(lane: 1)
                try put(again, 7)
                try checker.check(consumer.next(timeout: .seconds(5)))
                #expect(checker.seen.contains(7))
            }
        }

        /// An ordered consumer reads the lanes round-robin while they last;
        /// a finished lane drops out of the rotation once drained.
        @Test func anOrderedConsumerSkipsFinishedLanes() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 2)
            let consumer = try ring.consumer(order: .ordered)
            let producers = try [(0, 0, 3), (1, 100, 6)].map { lane, start, count in
                try HelperProcess(["produce", "--lane", "\(lane)", "--start", "\(start)", "--count", "\(count)",
                                   "--finish"], ring: ring)
            }
            var order: [Int] = []
            var checker = ItemChecker()
            while let lease = try consumer.nextItem(timeout: .seconds(30), coldBoot: true) {
                order.append(try #require(try checker.check(lease)))
            }
            #expect(order == [0, 100, 1, 101, 2, 102, 103, 104, 105])
            for producer in producers {
                #expect(try producer.child.wait(timeout: .seconds(30)) == .exited(0))
            }
        }

        /// A producer that finishes only one of two lanes does not end the
        /// stream; one that exits without finishing (still owning its lane) dies.
        @Test func anUnfinishedLaneIsADeathNotAnEnd() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 4)
            let consumer = try ring.consumer()
            let finished = try HelperProcess(["produce", "--lane", "0", "--count", "2", "--finish"], ring: ring)
            let died = try HelperProcess(["produce", "--lane", "1", "--start", "50", "--count", "2",
                                          "--exit-code", "0"], ring: ring)
            var checker = ItemChecker()
            var deaths: [ConveyorError] = []
            // Both lanes' items, and the death (which may come before lane 0's items).
            while deaths.isEmpty || checker.seen.count < 4 {
                do {
                    guard let lease = try consumer.nextItem(timeout: .seconds(30)) else { break }
                    try checker.check(lease)
                } catch {
                    deaths.append(error as? ConveyorError ?? .invalidArgument("\(error)"))
                }
            }
            #expect(deaths == [.producerDied(pid: died.pid, lane: 1, status: "exited with status 0")])
            #expect(checker.seen == [0, 1, 50, 51])
            #expect(try finished.child.wait(timeout: .seconds(30)) == .exited(0))
            // Lane 0 is finished, lane 1 is free for a new producer: not the end, a plain wait.
            #expect {
                _ = try consumer.nextItem(timeout: .milliseconds(100))
            } throws: { error in
                guard case ConveyorError.timedOut = error else { return false }
                return true
            }
        }

        /// A consumer waiting on an empty ring sleeps (no wake-ups) while its
        /// producer lives and sleeps itself, and wakes when it dies. A sleeping
        /// producer is "running" at the timeout, not stalled.
        @Test func anIdleConsumerSleepsUntilItsProducerDies() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4)
                let consumer = try ring.consumer()
                let producer = try HelperProcess(["produce", "--count", "0", "--hold"], ring: ring)
                _ = try producer.waitForLine("produced")
                let before = voluntarySleeps()
                #expect {
                    _ = try consumer.next(timeout: .milliseconds(600))
                } throws: { error in
                    guard case let ConveyorError.timedOut(operation, _) = error else { return false }
                    return operation.contains("pid \(producer.pid)") && operation.contains("running")
                }
                let sleeps = voluntarySleeps() - before
                // Polling every 10 ms would be ~60 wake-ups; a sleep per notification or death is 1.
                #expect(sleeps <= 6, "the idle consumer woke \(sleeps) times in 0.6 s")
                let killer = TestThread { [child = producer.child] in
                    usleep(100_000)
                    try child.kill()
                }
                #expect(throws: ConveyorError.producerDied(pid: producer.pid, lane: 0, status: "killed by signal 9 (SIGKILL)")) {
                    _ = try consumer.next(timeout: .seconds(30))
                }
                try killer.join()
            }
        }

        /// A producer blocked on a full lane sleeps while its consumer lives,
        /// and learns of its death without polling.
        @Test func aBlockedProducerSleepsUntilItsConsumerDies() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
                let producer = try ring.producer()
                for k in 0..<2 { try put(producer, k) }
                let consumer = try HelperProcess(["hold-lease"], ring: ring)
                _ = try consumer.waitForLine("holding")
                let before = voluntarySleeps()
                #expect(throws: ConveyorError.self) { _ = try producer.reserve(timeout: .milliseconds(600)) }
                let sleeps = voluntarySleeps() - before
                #expect(sleeps <= 6, "the blocked producer woke \(sleeps) times in 0.6 s")
                try waitUntilGone(consumer)
                #expect {
                    _ = try producer.reserve(timeout: .seconds(30))
                } throws: { error in
                    guard case ConveyorError.consumerGone = error else { return false }
                    return true
                }
            }
        }

        /// No consumer ever attached: a producer on a full lane gives up once
        /// the ring's creator has ended, or after `firstConsumerTimeout`.
        @Test func aProducerWaitsForAFirstConsumerOnlySoLong() throws {
            let creator = try HelperProcess(["create-named"])
            let name = String(try creator.waitForLine("created ").dropFirst("created ".count))
            defer { try? SharedSegment.unlink(name: name) }
            let ring = try SharedRing.attach(name: name, expecting: helperSchema())
            let producer = try ring.producer()
            producer.firstConsumerTimeout = nil
            for k in 0..<2 { try put(producer, k) }
            let killer = TestThread { [child = creator.child] in
                usleep(100_000)
                try child.kill()
            }
            #expect {
                _ = try producer.reserve(timeout: .seconds(30))
            } throws: { error in
                guard case let ConveyorError.consumerGone(detail) = error else { return false }
                return detail.contains("creator") && detail.contains("pid \(creator.pid)")
            }
            try killer.join()

            // The creator (this process) lives: the first-consumer timeout bounds the wait.
            let own = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            let waiting = try own.producer()
            waiting.firstConsumerTimeout = .milliseconds(200)
            for k in 0..<2 { try put(waiting, k) }
            #expect {
                _ = try waiting.reserve(timeout: .seconds(30))
            } throws: { error in
                guard case let ConveyorError.consumerGone(detail) = error else { return false }
                return detail.contains("firstConsumerTimeout")
            }
        }

        /// No producer ever comes (a peer refused the ring, or died before
        /// claiming a lane): a cold-boot wait for the first item, which
        /// outlasts `timeout`, still ends after `firstItemTimeout`.
        @Test func aColdBootConsumerWaitsForAFirstItemOnlySoLong() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 2)
            // The waits run on a thread of their own, so a wait without a bound fails this test
            // (the join gives up) instead of hanging the run.
            let waits = TestThread { [ring] () -> [(error: ConveyorError?, waited: Duration)] in
                let consumer = try ring.consumer()
                var outcomes: [(error: ConveyorError?, waited: Duration)] = []
                // A 10 ms timeout: the cold boot waits for the longer firstItemTimeout.
                // Then a timeout longer than firstItemTimeout: it is the bound.
                for (timeout, firstItem) in [(Duration.milliseconds(10), Duration.milliseconds(300)),
                                             (.milliseconds(100), .milliseconds(50))] {
                    consumer.firstItemTimeout = firstItem
                    let started = ContinuousClock.now
                    do {
                        _ = try consumer.next(timeout: timeout, coldBoot: true)
                        outcomes.append((nil, ContinuousClock.now - started))
                    } catch {
                        outcomes.append((error as? ConveyorError, ContinuousClock.now - started))
                    }
                }
                return outcomes
            }
            let outcomes = try waits.join(timeout: .seconds(30))
            try #require(outcomes.count == 2)
            guard case let .timedOut(operation, after)? = outcomes[0].error else {
                Issue.record("the cold boot ended with \(String(describing: outcomes[0].error))")
                return
            }
            #expect(operation.contains("no lane has a producer attached") && after == .milliseconds(300))
            #expect(outcomes[0].waited >= .milliseconds(300))
            guard case let .timedOut(_, longer)? = outcomes[1].error else {
                Issue.record("the second cold boot ended with \(String(describing: outcomes[1].error))")
                return
            }
            #expect(longer == .milliseconds(100) && outcomes[1].waited >= .milliseconds(100))
        }

        /// A valid ring in a longer (sparse, 128 TiB) file attaches and can be
        /// inspected: only the header's `totalBytes` are mapped.
        @Test func aRingInALongerSparseFileAttaches() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 4, naming: .named(privateSegmentName()))
                let name = try #require(ring.name)
                let file = try SystemCalls.shmOpen(name, create: false)
                defer { SystemCalls.close(file) }
                try SystemCalls.truncate(file, size: 1 << 47)
                #expect(try SystemCalls.fileSize(file) == 1 << 47)
                let attached = try SharedRing.attach(name: name, expecting: helperSchema())
                #expect(attached.byteCount == ring.byteCount)
                let snapshot = try SharedRing.inspect(.named(name))
                #expect(snapshot.info.byteCount == ring.byteCount && snapshot.info.lanes.count == 1)
                let child = try HelperProcess(["produce", "--name", name, "--count", "3"])
                #expect(try child.child.wait(timeout: .seconds(30)) == .exited(0), "\(child.stderr)")
                let consumer = try attached.consumer()
                var checker = ItemChecker()
                for _ in 0..<3 { try checker.check(consumer.next(timeout: .seconds(30))) }
                #expect(checker.seen == [0, 1, 2] && checker.corrupt == 0)
            }
        }
    }
}

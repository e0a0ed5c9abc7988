import ConveyorTestDatasets
import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// The DataLoader's process backend with real worker processes (the test
    /// helper, which calls the bootstrap). Nested in the serialized ring
    /// suite: these tests spawn and kill processes and count ring
    /// descriptors, pidfds and /dev/shm entries like the ring tests do.
    @Suite struct ProcessLoaderTests {
        init() {
            WorkerProcess.bootstrap(datasets: ProbeDataset.self)  // registers it; returns at once in the test process
        }

        static func configuration(
            _ workers: WorkerBackend, batchSize: Int = 4, sampler: Sampler = .shuffled, delivery: Delivery = .ordered,
            batchTimeout: Duration? = nil
        ) -> LoaderConfiguration {
            LoaderConfiguration(batchSize: batchSize, sampler: sampler, workers: workers, prefetch: 2, delivery: delivery,
                                seed: 11, batchTimeout: batchTimeout, workerExecutable: helperPath)
        }

        static func collect(_ loader: DataLoader<TensorBatch>, epochs: Int) throws -> [BatchDigest] {
            try DataLoaderTests.collect(loader, epochs: epochs)
        }

        /// Whether process `pid` has gone (reaped, or not ours and ended).
        static func isGone(_ pid: Int32) -> Bool {
            guard let status = SystemCalls.processStatus(pid) else { return true }
            return status.state == UInt8(ascii: "Z") || status.state == UInt8(ascii: "X")
        }

        static func waitUntilGone(_ pids: [Int32], within timeout: Duration) -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if pids.allSatisfy(isGone) { return true }
                usleep(10_000)
            }
            return pids.allSatisfy(isGone)
        }

        @Test func sameBatchesForEveryBackendAndWorkerCount() throws {
            try expectNoLeaks {
                let dataset = ProbeDataset(count: 37)
                let expected = try Self.collect(DataLoader(describedBy: dataset, Self.configuration(.inline)), epochs: 2)
                #expect(expected.count == 20)
                for workers in [WorkerBackend.threads(2), .processes(1), .processes(2), .processes(3)] {
                    let loader = try DataLoader(describedBy: dataset, Self.configuration(workers))
                    #expect(try Self.collect(loader, epochs: 2) == expected, "\(workers)")
                    #expect(loader.workerProcessIDs.count == (workers == .threads(2) ? 0 : workers.workerCount))
                    loader.stop()
                }
            }
        }

        @Test func asyncIterationGivesTheSameBatches() async throws {
            let dataset = ProbeDataset(count: 21)
            let expected = try Self.collect(DataLoader(describedBy: dataset, Self.configuration(.inline)), epochs: 1)
            let loader = try DataLoader(describedBy: dataset, Self.configuration(.processes(2)))
            var got: [BatchDigest] = []
            for try await batch in loader { got.append(BatchDigest(batch)) }
            #expect(got == expected)
            loader.stop()
        }

        /// An async iteration waiting for a batch that is not made yet leaves
        /// its task's thread to the other tasks: the wait is not done there.
        @Test func asyncWaitForABatchLeavesTheTaskThreadFree() async throws {
            let dataset = ProbeDataset(count: 8, sleepMicroseconds: 200_000)  // 0.8 s per batch of 4
            let loader = try DataLoader(describedBy: dataset, Self.configuration(.processes(1)))
            defer { loader.stop() }
            let arrived = Locked(false)
            try await withTaskExecutorPreference(SingleThreadExecutor.shared) {
                async let first: TensorBatch? = {
                    var batches = loader.makeAsyncIterator()
                    let batch = try await batches.next()
                    arrived.withLock { $0 = true }
                    return batch
                }()
                try await Task.sleep(for: .milliseconds(100))  // the iteration is waiting now
                // An order, not a speed: a wait that held the thread (in 10 ms
                // slices, say) would let these 1,000 hops finish only long after
                // the batch (0.8 s of work) arrived; a wait off the thread lets
                // them all run first.
                for _ in 0..<1_000 { await Task.yield() }
                let hopsFinishedFirst = !arrived.current
                #expect(try await first?.index == 0)
                #expect(hopsFinishedFirst, "the task's thread was held while the iteration waited for its batch")
            }
        }

        /// The async wait keeps the bounds of the blocking one: the batch
        /// timeout, and a cancelled task ends it (within a wait slice).
        @Test func anAsyncWaitTimesOutAndEndsWithItsTask() async throws {
            let dataset = ProbeDataset(count: 100, sleepMicroseconds: 300_000)
            let timed = try DataLoader(
                describedBy: dataset, Self.configuration(.processes(1), batchSize: 2, batchTimeout: .milliseconds(200)))
            defer { timed.stop() }
            var batches = timed.makeAsyncIterator()
            await #expect {
                _ = try await batches.next()
            } throws: { error in
                guard case let .timedOut(operation, _)? = error as? ConveyorError else { return false }
                return operation.contains("batch 0") && operation.contains("worker 0")
            }

            // Its batch would take 10 s: a wait that ignored the cancel would
            // end only then, far past the generous bound below.
            let slow = ProbeDataset(count: 100, sleepMicroseconds: 5_000_000)
            let untimed = try DataLoader(describedBy: slow, Self.configuration(.processes(1), batchSize: 2))
            defer { untimed.stop() }
            let waiting = Task { () async throws -> TensorBatch? in
                var batches = untimed.makeAsyncIterator()
                return try await batches.next()
            }
            try await Task.sleep(for: .milliseconds(50))
            let start = ContinuousClock.now
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            let ended = ContinuousClock.now - start
            #expect(ended < .seconds(5), "the cancelled wait ended after \(ended)")
        }

        @Test func anEpochBrokenOffLeavesNothingStaleForTheNext() throws {
            try expectNoLeaks {
                let dataset = ProbeDataset(count: 60)
                let reference = try Self.collect(DataLoader(describedBy: dataset, Self.configuration(.inline)), epochs: 3)
                let loader = try DataLoader(describedBy: dataset, Self.configuration(.processes(2)))
                var first = loader.makeBatchIterator()
                for _ in 0..<3 { _ = try first.next() }
                usleep(50_000)  // the workers fill their lanes with batches of epoch 0 nobody will take
                var second = loader.makeBatchIterator()
                #expect(try first.next() == nil, "a newer iteration ends the older one")
                var epoch1: [BatchDigest] = []
                while let batch = try second.next() { epoch1.append(BatchDigest(batch)) }
                #expect(epoch1 == reference.filter { $0.epoch == 1 })
                #expect(try Self.collect(loader, epochs: 1) == reference.filter { $0.epoch == 2 })
            }
        }

        @Test func batchesLentInPlaceAreTheSameBatches() throws {
            try expectNoLeaks {
                let dataset = ProbeDataset(count: 29)
                let expected = try Self.collect(DataLoader(describedBy: dataset, Self.configuration(.inline)), epochs: 1)
                for workers in [WorkerBackend.threads(2), .processes(2)] {
                    let loader = try DataLoader(describedBy: dataset, Self.configuration(workers))
                    var batches = loader.makeBatchIterator()
                    var got: [BatchDigest] = []
                    while let digest = try batches.next(inPlace: { (batch: borrowing BatchView) in
                        let values = try batch.withUnsafeBufferPointer(of: "value", as: Int64.self) { Array($0) }
                        #expect(values.count == batch.count * 2)
                        #expect(values.enumerated().filter { $0.offset % 2 == 0 }.map { Int($0.element) }
                                == Array(batch.indices))
                        #expect(try batch.rows(of: "tokens") == batch.indices.map { 1 + $0 % 8 })
                        return BatchDigest(batch.copy())
                    }) {
                        got.append(digest)
                    }
                    #expect(got == expected, "\(workers)")
                    loader.stop()
                }
            }
        }

        @Test func anErrorThrownWhileABatchIsLentCountsTheBatch() throws {
            try expectNoLeaks {
                struct Refused: Error {}
                let loader = try DataLoader(describedBy: ProbeDataset(count: 20), Self.configuration(.processes(2)))
                var batches = loader.makeBatchIterator()
                #expect(throws: Refused.self) { _ = try batches.next(inPlace: { _ in throw Refused() }) }
                #expect(loader.state.nextBatch == 1)
                #expect(throws: ConveyorError.self) {
                    _ = try batches.next(inPlace: { try $0.withUnsafeBufferPointer(of: "value", as: Float.self) { $0.count } })
                }
                #expect(try batches.next(inPlace: { $0.index }) == 2)  // the body's errors count their batches
            }
        }

        @Test func builtInDescriptionsWorkInWorkerProcesses() throws {
            try expectNoLeaks {
                let directory = try TemporaryDirectory()
                defer { directory.remove() }
                try directory.write(NumpyDatasetTests.npy(
                    header: "{'descr': '<i4', 'fortran_order': False, 'shape': (5, 2), }",
                    data: (0..<10).flatMap { value in withUnsafeBytes(of: Int32(value).littleEndian) { Array($0) } }),
                    to: "x.npy")
                for (name, text) in [("a.txt", "one"), ("b.txt", "three"), ("c.bin", "skip")] {
                    try directory.write(Array(text.utf8), to: "files/" + name)
                }
                let numpy = try DataLoader(
                    describedBy: NumpyDataset.Description(path: directory.path + "/x.npy", field: "x"),
                    Self.configuration(.processes(2), batchSize: 2, sampler: .sequential))
                var values: [[Int32]] = []
                var batches = numpy.makeBatchIterator()
                while let batch = try batches.next() { values.append(try batch["x"]!.scalars(as: Int32.self)) }
                #expect(values == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
                numpy.stop()

                let files = try DataLoader(
                    describedBy: DirectoryDataset.Description(path: directory.path + "/files", suffixes: [".txt"]),
                    Self.configuration(.processes(2), batchSize: 1, sampler: .sequential))
                var texts: [String] = []
                var fileBatches = files.makeBatchIterator()
                while let batch = try fileBatches.next() {
                    let length = try #require(batch.rows(of: "bytes")?.first)
                    texts.append(String(decoding: batch["bytes"]!.bytes.prefix(length), as: UTF8.self))
                }
                #expect(texts == ["one", "three"])
                files.stop()
            }
        }

        @Test func unorderedDeliversEveryBatchOnce() throws {
            try expectNoLeaks {
                let dataset = ProbeDataset(count: 50)
                let expected = try Self.collect(DataLoader(describedBy: dataset, Self.configuration(.inline)), epochs: 1)
                let loader = try DataLoader(describedBy: dataset, Self.configuration(.processes(3), delivery: .unordered))
                let got = try Self.collect(loader, epochs: 1)
                #expect(Set(got) == Set(expected))
                #expect(got.count == expected.count)
            }
        }

        @Test func stateFromAThreadsRunResumesInAProcessesRun() throws {
            try expectNoLeaks {
                let dataset = ProbeDataset(count: 30)
                let uninterrupted = try Self.collect(DataLoader(describedBy: dataset, Self.configuration(.inline)), epochs: 3)
                // Threads: one epoch and 3 batches of the next, then stop.
                let first = try DataLoader(describedBy: dataset, Self.configuration(.threads(2)))
                var seen = try Self.collect(first, epochs: 1)
                var batches = first.makeBatchIterator()
                for _ in 0..<3 { seen.append(BatchDigest(try #require(try batches.next()))) }
                let state = first.state
                first.stop()
                // Processes: the rest of that epoch, then one more.
                let second = try DataLoader(describedBy: dataset, Self.configuration(.processes(2)), resumingFrom: state)
                seen += try Self.collect(second, epochs: 2)
                #expect(seen == uninterrupted)
            }
        }

        @Test func aDatasetErrorArrivesAtItsBatchThenTheEpochEnds() throws {
            try expectNoLeaks {
                let loader = try DataLoader(
                    describedBy: ProbeDataset(count: 40, failAt: 21), Self.configuration(.processes(2), sampler: .sequential))
                var batches = loader.makeBatchIterator()
                for index in 0..<5 { #expect(try batches.next()?.index == index) }
                #expect {
                    _ = try batches.next()
                } throws: { error in
                    guard case let .sourceFailed(index, worker, message)? = error as? ConveyorError else { return false }
                    return index == 21 && worker == 1 && message.contains("probe failure at 21")
                }
                #expect(try batches.next() == nil)
                // The workers serve the next epoch as usual (up to the failing batch again).
                var next = loader.makeBatchIterator()
                #expect(try next.next()?.index == 0)
            }
        }

        @Test func aWorkerKilledBySIGKILLIsReportedWithItsPidAndAHint() throws {
            try expectNoLeaks {
                let loader = try DataLoader(
                    describedBy: ProbeDataset(count: 100_000, sleepMicroseconds: 2000), Self.configuration(.processes(2)))
                var batches = loader.makeBatchIterator()
                _ = try batches.next()
                let victim = loader.workerProcessIDs[1]
                kill(victim, SIGKILL)
                let start = ContinuousClock.now
                var failure: ConveyorError?
                while ContinuousClock.now - start < .seconds(10) {
                    do throws(ConveyorError) {
                        guard try batches.next() != nil else { break }
                    } catch {
                        failure = error
                        break
                    }
                }
                guard case let .workerDied(worker, pid, status, hint)? = failure else {
                    Issue.record("expected workerDied, got \(String(describing: failure))")
                    return
                }
                #expect(worker == 1 && pid == victim)
                #expect(status.contains("SIGKILL"))
                #expect(hint?.contains("out-of-memory") == true)
                #expect(failure!.description.contains("worker 1 (pid \(victim))"))
                // The loader stays failed, naming the death, and stops cleanly.
                var again = loader.makeBatchIterator()
                #expect(throws: ConveyorError.self) { _ = try again.next() }
                let pids = loader.workerProcessIDs
                loader.stop()
                #expect(Self.waitUntilGone(pids, within: .seconds(5)))
            }
        }

        @Test(arguments: [
            (ProbeDataset(count: 100, exitAt: 10, exitCode: 3), "exited with status 3 unexpectedly", nil),
            (ProbeDataset(count: 100, signalAt: 10, signal: SIGSEGV), "killed by signal 11 (SIGSEGV)", "crash"),
            (ProbeDataset(count: 100, signalAt: 10, signal: SIGBUS), "killed by signal 7 (SIGBUS)", "/dev/shm"),
        ] as [(ProbeDataset, String, String?)])
        func aWorkerThatEndsIsReportedWithItsStatusAndAHint(dataset: ProbeDataset, status: String, hint: String?) throws {
            setenv("SWIFT_BACKTRACE", "enable=no", 1)  // the crashing workers (spawned later) print no backtrace
            try expectNoLeaks {
                let loader = try DataLoader(describedBy: dataset, Self.configuration(.processes(2), sampler: .sequential))
                var failure: ConveyorError?
                var delivered = 0
                var batches = loader.makeBatchIterator()
                do throws(ConveyorError) {
                    while try batches.next() != nil { delivered += 1 }
                } catch {
                    failure = error
                }
                #expect(delivered == 2)  // batches 0 and 1; batch 2 (indices 8..<12) ends worker 0
                guard case let .workerDied(worker, _, reported, reportedHint)? = failure else {
                    Issue.record("expected workerDied, got \(String(describing: failure))")
                    return
                }
                #expect(worker == 0)
                #expect(reported == status)
                if let hint { #expect(reportedHint?.contains(hint) == true) } else { #expect(reportedHint == nil) }
            }
        }

        @Test func stopAndDropEndEveryWorkerProcess() throws {
            try expectNoLeaks {
                let dataset = ProbeDataset(count: 100_000, sleepMicroseconds: 1000)
                let stopped = try DataLoader(describedBy: dataset, Self.configuration(.processes(2)))
                var batches = stopped.makeBatchIterator()
                _ = try batches.next()
                let pids = stopped.workerProcessIDs
                stopped.stop()
                #expect(pids.allSatisfy(Self.isGone))  // stop() waits for them
                var after = stopped.makeBatchIterator()
                #expect(throws: ConveyorError.self) { _ = try after.next() }

                var dropped: [Int32] = []
                do {
                    let loader = try DataLoader(describedBy: dataset, Self.configuration(.processes(2)))
                    var batches = loader.makeBatchIterator()
                    _ = try batches.next()
                    dropped = loader.workerProcessIDs
                }
                #expect(dropped.count == 2 && dropped.allSatisfy(Self.isGone))
            }
        }

        @Test func stopEndsAWorkerStuckInASampleWithinItsGrace() throws {
            try expectNoLeaks {
                let loader = try DataLoader(
                    describedBy: ProbeDataset(count: 100, sleepMicroseconds: 20_000_000),
                    Self.configuration(.processes(2), batchTimeout: .milliseconds(300)))
                var batches = loader.makeBatchIterator()
                #expect(throws: ConveyorError.self) { _ = try batches.next() }  // both workers are deep in a sample
                let pids = loader.workerProcessIDs
                let start = ContinuousClock.now
                loader.stop()  // asks, waits ProcessWorkerPool.stopGrace, then kills
                #expect(ContinuousClock.now - start < .seconds(10))
                #expect(pids.allSatisfy(Self.isGone))
            }
        }

        @Test func aKilledConsumersWorkersExitAndLeaveNoSegment() throws {
            try expectNoLeaks {
                let consumer = try HelperProcess(["loader-consume"])
                let line = try consumer.waitForLine("workers ")
                let workers = line.split(separator: " ").dropFirst().compactMap { Int32($0) }
                #expect(workers.count == 2)
                try consumer.child.kill()
                _ = try consumer.child.wait(timeout: .seconds(10))
                #expect(Self.waitUntilGone(workers, within: .seconds(5)), "workers \(workers) outlived their consumer")
                // Only the killed consumer's segments count: other tests create named rings meanwhile.
                #expect(SharedSegment.namedSegments(prefix: SharedRing.namePrefix + "\(consumer.pid)-").isEmpty)
            }
        }

        /// `bindLifetimeToParent` watches the parent process, not the thread
        /// that spawned the child: the child outlives its spawning thread and
        /// ends when its parent is killed.
        @Test func aBoundChildEndsWithItsKilledParentNotWithItsSpawningThread() throws {
            try expectNoLeaks {
                let middle = try HelperProcess(["spawn-bound"])
                let line = try middle.waitForLine("child ")
                let child = try #require(line.split(separator: " ").dropFirst().first.flatMap { Int32($0) })
                #expect(!Self.isGone(child), "the child ended with the thread that spawned it")
                try middle.child.kill()
                _ = try middle.child.wait(timeout: .seconds(10))
                #expect(Self.waitUntilGone([child], within: .seconds(10)), "child \(child) outlived its parent")
            }
        }

        @Test func aSlowBatchTimesOut() throws {
            try expectNoLeaks {
                let loader = try DataLoader(
                    describedBy: ProbeDataset(count: 100, sleepMicroseconds: 300_000),
                    Self.configuration(.processes(1), batchSize: 2, batchTimeout: .milliseconds(200)))
                var batches = loader.makeBatchIterator()
                #expect {
                    _ = try batches.next()
                } throws: { error in
                    guard case let .timedOut(operation, _)? = error as? ConveyorError else { return false }
                    return operation.contains("batch 0") && operation.contains("worker 0")
                }
            }
        }

        @Test func aWorkerProgramWithoutTheBootstrapIsCaught() throws {
            try expectNoLeaks {
                // A "worker" that never serves: the program did not call the bootstrap and just ended.
                var configuration = Self.configuration(.processes(1))
                configuration.workerExecutable = "/bin/true"
                let loader = try DataLoader(describedBy: ProbeDataset(count: 8), configuration)
                var batches = loader.makeBatchIterator()
                #expect {
                    _ = try batches.next()
                } throws: { error in
                    guard case let .workerDied(_, _, status, hint)? = error as? ConveyorError else { return false }
                    return status == "exited with status 0 unexpectedly" && hint?.contains("bootstrap") == true
                }
            }
            // Such a program making a loader of its own would spawn without end: refused.
            setenv(WorkerJob.environmentKey, "{}", 1)
            defer { unsetenv(WorkerJob.environmentKey) }
            #expect {
                try DataLoader(describedBy: ProbeDataset(count: 8), Self.configuration(.processes(1)))
            } throws: { error in
                guard case let .invalidArgument(message)? = error as? ConveyorError else { return false }
                return message.contains("started as a DataLoader worker")
            }
        }

        @Test func badConfigurationIsAnErrorAtConstruction() throws {
            #expect(throws: ConveyorError.self) {
                try DataLoader(describedBy: ProbeDataset(count: 4), Self.configuration(.processes(0)))
            }
            // Not a description: a worker process could not make it.
            let mapped = try SyntheticImageDataset(count: 4).map { sample, _ in sample }
            #expect {
                try DataLoader(collating: mapped, Self.configuration(.processes(2)))
            } throws: { error in
                guard case let .invalidArgument(message)? = error as? ConveyorError else { return false }
                return message.contains("DatasetDescription")
            }
            // A description whose type is not registered.
            #expect {
                try DataLoader(describedBy: Unregistered(), Self.configuration(.processes(1)))
            } throws: { error in
                guard case let .invalidArgument(message)? = error as? ConveyorError else { return false }
                return message.contains("WorkerProcess.bootstrap(datasets: Unregistered.self)")
            }
        }

        @Test func theExampleProgramRunsTwoEpochsWithWorkerProcesses() throws {
            try expectNoLeaks {
                let example = try HelperProcess([], executable: builtProduct(named: "conveyor-example"))
                let status = try example.child.wait(timeout: .seconds(60))
                #expect(status == .exited(0), "\(example.stderr)")
                let output = example.stdout
                #expect(output.contains("epoch 0: 32 batches, 1000 samples"), "\(output)")
                #expect(output.contains("epoch 1: 32 batches, 1000 samples"), "\(output)")
                #expect(output.contains("done: 2 worker processes, state seed 7, epoch 2, next batch 0"), "\(output)")
            }
        }
    }

    /// A description no bootstrap registered.
    struct Unregistered: DatasetDescription {
        static var typeName: String { "Unregistered" }
        func makeDataset() throws -> SyntheticImageDataset { try SyntheticImageDataset(count: 4) }
    }
}

/// The worker side's pure parts.
@Suite struct WorkerProtocolTests {
    @Test func commandsRoundTripAndGarbageIsRejected() {
        for command in [WorkerCommand.run(generation: 7, epoch: 3, firstBatch: 12), .stop] {
            #expect(WorkerCommand(decoding: command.encoded) == command)
        }
        #expect(WorkerCommand(decoding: [1, 2, 3]) == nil)
        #expect(WorkerCommand(decoding: [UInt8](repeating: 9, count: WorkerCommand.byteCount)) == nil)
    }

    @Test func aWorkerTakesEveryNthBatchFromTheFirstAndANewRunReplacesTheOld() {
        var schedule = WorkerSchedule(worker: 1, workerCount: 3)
        #expect(schedule.take() == nil)
        schedule.start(generation: 1, epoch: 0, firstBatch: 5, batchCount: 14)
        var taken: [Int] = []
        while let batch = schedule.take() { taken.append(batch) }
        #expect(taken == [6, 9, 12])
        #expect(schedule.isIdle)
        schedule.start(generation: 2, epoch: 1, firstBatch: 0, batchCount: 10)
        #expect(schedule.take() == 1)
        schedule.start(generation: 3, epoch: 2, firstBatch: 0, batchCount: 10)
        #expect(schedule.current?.generation == 3)
        #expect(schedule.take() == 1)
        schedule.abandon()
        #expect(schedule.take() == nil)
    }

    @Test func aTypeNameTakenByAnotherTypeIsAnError() throws {
        struct Impostor: DatasetDescription {
            static var typeName: String { "SyntheticImageDataset" }
            func makeDataset() throws -> SyntheticImageDataset { try SyntheticImageDataset(count: 1) }
        }
        #expect(throws: ConveyorError.self) { try DatasetRegistry.register(Impostor.self) }
        try DatasetRegistry.register(SyntheticImageDataset.self)  // the same type again is fine
    }

    @Test func deathHints() {
        #expect(WorkerDeath.hint(forSignal: 9)?.contains("out-of-memory") == true)
        #expect(WorkerDeath.hint(forSignal: 7)?.contains("/dev/shm") == true)
        #expect(WorkerDeath.hint(forSignal: 11)?.contains("crash") == true)
        let exited = WorkerDeath.error(worker: 2, pid: 99, status: .exited(3))
        #expect(exited.description == "worker 2 (pid 99) died: exited with status 3 unexpectedly")
    }
}

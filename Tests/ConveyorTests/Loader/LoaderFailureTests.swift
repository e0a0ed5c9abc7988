import ConveyorTestDatasets
import Foundation
import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// What a loader does after an error: its state never moves past what
    /// was delivered, a loader whose worker died says how to go on, failed
    /// epochs are in the history, and worker processes carry names.
    /// Nested in the serialized ring suite: these spawn and kill processes.
    @Suite struct LoaderFailureTests {
        init() {
            WorkerProcess.bootstrap(datasets: ProbeDataset.self)
        }

        static func configuration(_ workers: WorkerBackend, delivery: Delivery) -> LoaderConfiguration {
            LoaderConfiguration(batchSize: 4, sampler: .sequential, workers: workers, prefetch: 2, delivery: delivery,
                                seed: 5, workerExecutable: helperPath)
        }

        static let backends: [WorkerBackend] = [.inline, .threads(2), .processes(2)]

        @Test(arguments: LoaderFailureTests.backends, [Delivery.ordered, .unordered])
        func aFailedEpochKeepsItsStateAndIsInTheHistory(workers: WorkerBackend, delivery: Delivery) throws {
            try expectNoLeaks {
                let loader = try DataLoader(
                    describedBy: ProbeDataset(count: 40, failAt: 21), Self.configuration(workers, delivery: delivery))
                var batches = loader.makeBatchIterator()
                var failure: ConveyorError?
                do throws(ConveyorError) {
                    while try batches.next() != nil {}
                } catch {
                    failure = error
                }
                guard case .sourceFailed(21, _, _)? = failure else {
                    Issue.record("expected sourceFailed at 21, got \(String(describing: failure))")
                    return
                }
                // Batch 5 (indices 20..<24) failed: nothing at or after it counts as delivered.
                let state = loader.state
                #expect(state.epoch == 0)
                #expect(delivery == .ordered ? state.nextBatch == 5 : state.nextBatch <= 5)
                #expect(loader.epochHistory.count == 1)
                #expect(loader.epochHistory.last?.failure?.contains("probe failure at 21") == true)
                #expect(loader.epochHistory.last?.description.contains("failed:") == true)
                // An iteration that cannot start (the loader was stopped) moves nothing.
                loader.stop()
                var after = loader.makeBatchIterator()
                #expect(throws: ConveyorError.self) { _ = try after.next() }
                #expect(loader.state == state)
                #expect(loader.epochHistory.count == 1)
            }
        }

        @Test(arguments: [Delivery.ordered, .unordered])
        func aLoaderWhoseWorkerDiedNeverMovesAndResumesExactly(delivery: Delivery) throws {
            try expectNoLeaks {
                let dataset = ProbeDataset(count: 400, sleepMicroseconds: 2000)
                let uninterrupted = try DataLoaderTests.collect(
                    DataLoader(describedBy: dataset, Self.configuration(.inline, delivery: .ordered)), epochs: 1)
                let loader = try DataLoader(describedBy: dataset, Self.configuration(.processes(2), delivery: delivery))
                var delivered: [BatchDigest] = []
                var batches = loader.makeBatchIterator()
                for _ in 0..<3 { if let batch = try batches.next() { delivered.append(BatchDigest(batch)) } }
                kill(loader.workerProcessIDs[1], SIGKILL)
                var failure: ConveyorError?
                do throws(ConveyorError) {
                    while let batch = try batches.next() { delivered.append(BatchDigest(batch)) }
                } catch {
                    failure = error
                }
                guard case .workerDied? = failure else {
                    Issue.record("expected workerDied, got \(String(describing: failure))")
                    return
                }
                let state = loader.state
                #expect(state.epoch == 0 && state.nextBatch < 100)
                #expect(loader.epochHistory.last?.failure?.contains("died") == true)
                // Iterating the failed loader again, twice: an error saying what to do, and the state stays.
                for _ in 0..<2 {
                    var again = loader.makeBatchIterator()
                    #expect {
                        _ = try again.next()
                    } throws: { error in
                        let text = "\(error)"
                        return text.contains("resumingFrom") && text.contains("next batch \(state.nextBatch)")
                            && text.contains("died")
                    }
                    #expect(loader.state == state)
                }
                #expect(loader.epochHistory.count == 1)
                loader.stop()
                // A new loader from the state delivers exactly the rest (unordered: what overtook the
                // first undelivered batch comes again, so compare the batches past the state).
                let resumed = try DataLoader(
                    describedBy: dataset, Self.configuration(.processes(2), delivery: .ordered), resumingFrom: state)
                let rest = try DataLoaderTests.collect(resumed, epochs: 1)
                resumed.stop()
                let kept = delivered.filter { $0.index < state.nextBatch }
                #expect(Set(kept.map(\.index)) == Set(0..<state.nextBatch))
                #expect((kept.sorted { $0.index < $1.index } + rest) == uninterrupted)
            }
        }

        @Test func dropLastWithABatchLargerThanTheDatasetIsAnError() throws {
            #expect {
                _ = try DataLoader(ArrayDataset(Array(0..<7)), LoaderConfiguration(batchSize: 10, dropLast: true))
            } throws: { error in
                guard case let .invalidArgument(message)? = error as? ConveyorError else { return false }
                return message.contains("batchSize 10") && message.contains("only 7 samples")
            }
            // Without dropLast, or with a batch that fits, it is fine.
            #expect(throws: Never.self) { _ = try DataLoader(ArrayDataset(Array(0..<7)), LoaderConfiguration(batchSize: 10)) }
            #expect(throws: Never.self) {
                _ = try DataLoader(ArrayDataset(Array(0..<7)), LoaderConfiguration(batchSize: 7, dropLast: true))
            }
        }

        @Test func workerProcessesCarryTheProgramsNameAndTheirRole() throws {
            try expectNoLeaks {
                let loader = try DataLoader(
                    describedBy: ProbeDataset(count: 100), Self.configuration(.processes(2), delivery: .ordered))
                defer { loader.stop() }
                var batches = loader.makeBatchIterator()
                _ = try batches.next()  // batches 0 and 1, from workers 0 and 1: both are past their start-up
                _ = try batches.next()
                let program = WorkerProcess.programName
                for (worker, pid) in loader.workerProcessIDs.enumerated() {
                    let cmdline = SystemCalls.readSmallFile("/proc/\(pid)/cmdline").map { String(decoding: $0, as: UTF8.self) }
                    let argv0 = cmdline?.split(separator: "\0", omittingEmptySubsequences: false).first.map(String.init)
                    #expect(argv0 == "\(program): conveyor worker \(worker)")
                    let comm = SystemCalls.readSmallFile("/proc/\(pid)/comm").map { String(decoding: $0, as: UTF8.self) }
                    let expected = WorkerProcess.threadName(program: program, worker: worker)
                    #expect(comm == expected + "\n")
                    #expect(expected.utf8.count <= 15 && expected.hasSuffix(":worker\(worker)"))
                }
            }
        }

        @Test func threadNamesKeepTheRoleWithinFifteenBytes() {
            #expect(WorkerProcess.threadName(program: "trainer", worker: 1) == "trainer:worker1")
            #expect(WorkerProcess.threadName(program: "a-very-long-program", worker: 12) == "a-very:worker12")
            #expect(WorkerProcess.title(program: "trainer", worker: 1) == "trainer: conveyor worker 1")
        }
    }
}

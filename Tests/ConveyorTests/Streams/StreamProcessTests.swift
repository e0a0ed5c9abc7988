import Testing
@testable import Conveyor

extension SharedRingTests {
    /// Tar shards read by worker processes (the test helper): nested in the
    /// serialized ring suite, as every test that spawns workers is.
    @Suite struct StreamProcessTests {
        static let helperPath = builtProduct(named: "conveyor-test-helper")

        static func configuration(_ workers: WorkerBackend) -> LoaderConfiguration {
            LoaderConfiguration(batchSize: 4, sampler: .shuffled, workers: workers, prefetch: 2, seed: 17,
                                batchTimeout: .seconds(60), workerExecutable: helperPath)
        }

        /// 1, 2 and 3 worker processes: contents checked, every sample once
        /// per epoch, and the same batches as as many threads.
        @Test(arguments: [1, 2, 3])
        func processesReadEverySampleOnceAsThreadsDo(workers: Int) throws {
            try expectNoLeaks {
                let directory = try TemporaryDirectory()
                defer { directory.remove() }
                let paths = try StreamFixtures.writeShards(in: directory, sizes: [10, 7, 12])
                let description = TarShards.Description(paths: paths)
                let processes = try DataLoader(streaming: description, Self.configuration(.processes(workers)), shuffleBuffer: 5)
                defer { processes.stop() }
                let threads = try DataLoader(streaming: description, Self.configuration(.threads(workers)), shuffleBuffer: 5)
                defer { threads.stop() }
                for _ in 0..<2 {
                    let made = try StreamFixtures.epoch(processes)
                    #expect(made.flatMap { $0 }.sorted() == Array(0..<29))
                    #expect(try StreamFixtures.epoch(threads) == made)
                }
            }
        }

        /// A state saved by threads resumes in processes and the reverse,
        /// giving the rest of the uninterrupted epoch.
        @Test func resumeAcrossBackends() throws {
            try expectNoLeaks {
                let directory = try TemporaryDirectory()
                defer { directory.remove() }
                let paths = try StreamFixtures.writeShards(in: directory, sizes: [9, 9, 9])
                let description = TarShards.Description(paths: paths)
                let whole = try DataLoader(streaming: description, Self.configuration(.threads(2)), shuffleBuffer: 4)
                defer { whole.stop() }
                let expected = try StreamFixtures.epoch(whole)
                for (first, second) in [(WorkerBackend.threads(2), WorkerBackend.processes(2)), (.processes(2), .threads(2))] {
                    let partial = try DataLoader(streaming: description, Self.configuration(first), shuffleBuffer: 4)
                    var iterator = partial.makeBatchIterator()
                    for _ in 0..<3 { _ = try iterator.next() }
                    let state = partial.state
                    partial.stop()
                    let resumed = try DataLoader(
                        streaming: description, Self.configuration(second), shuffleBuffer: 4, resumingFrom: state)
                    defer { resumed.stop() }
                    #expect(try StreamFixtures.epoch(resumed) == Array(expected[3...]), "\(first) → \(second)")
                }
            }
        }

        /// A shard damaged after the loader scanned it fails in the worker
        /// that reads it, naming the file.
        @Test func aShardDamagedWhileRunningNamesTheFile() throws {
            try expectNoLeaks {
                let directory = try TemporaryDirectory()
                defer { directory.remove() }
                let paths = try StreamFixtures.writeShards(in: directory, sizes: [6, 6])
                let loader = try DataLoader(
                    streaming: TarShards.Description(paths: paths), Self.configuration(.processes(2)))
                defer { loader.stop() }
                try runPython("open('\(paths[1])', 'r+b').truncate(1024)")
                let error = #expect(throws: ConveyorError.self) { _ = try StreamFixtures.epoch(loader) }
                #expect(String(describing: error).contains(paths[1]), "\(String(describing: error))")
            }
        }
    }
}

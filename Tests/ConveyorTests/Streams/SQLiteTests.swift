import Foundation
import Testing
@testable import Conveyor

extension SharedRingTests {
    /// SQLite as a random-access dataset and as a stream, through threads
    /// and worker processes (each opens its own read-only connection).
    @Suite struct SQLiteTests {
        static func configuration(_ workers: WorkerBackend, batchSize: Int = 5) -> LoaderConfiguration {
            LoaderConfiguration(batchSize: batchSize, sampler: .shuffled, workers: workers, prefetch: 2, seed: 4,
                                batchTimeout: .seconds(60), workerExecutable: SharedRingTests.StreamProcessTests.helperPath)
        }

        /// Random access by key: the same batches for every backend and
        /// worker count, every row once per epoch, contents checked.
        @Test func rowsByKeyThroughEveryBackend() throws {
            try expectNoLeaks {
                let directory = try TemporaryDirectory()
                defer { directory.remove() }
                let path = try SQLiteFixtures.write(in: directory, count: 37)
                let description = SQLiteDataset.Description(source: SQLiteSource(path: path, table: "samples", columns: SQLiteFixtures.columns))
                var runs: [[[Int]]] = []
                for workers in [WorkerBackend.inline, .threads(2), .processes(1), .processes(2), .processes(3)] {
                    let loader = try DataLoader(describedBy: description, Self.configuration(workers))
                    defer { loader.stop() }
                    let epoch = try SQLiteFixtures.epoch(loader)
                    #expect(epoch.flatMap { $0 }.sorted() == Array(0..<37), "\(workers)")
                    runs.append(epoch)
                }
                #expect(runs.allSatisfy { $0 == runs[0] })
            }
        }

        /// A query with a key column of its result.
        @Test func aQueryWithAKeyColumn() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = try SQLiteFixtures.write(in: directory, count: 20)
            let dataset = try SQLiteDataset(SQLiteSource(
                path: path, relation: .query("SELECT id, image, label, weight FROM samples WHERE split = 'train'"), key: "id",
                columns: SQLiteFixtures.columns))
            #expect(dataset.count == 10)
            let loader = try DataLoader(collating: dataset, Self.configuration(.threads(2)))
            defer { loader.stop() }
            #expect(try SQLiteFixtures.epoch(loader).flatMap { $0 }.sorted() == Array(stride(from: 0, to: 20, by: 2)))
            #expect(throws: ConveyorError.self) {
                try SQLiteDataset(SQLiteSource(path: path, relation: .query("SELECT * FROM samples"), key: nil, columns: SQLiteFixtures.columns))
            }
        }

        /// As a stream (shards of 6 rows, fewer than workers for 3 workers
        /// of 2 shards too): every row once, processes as threads, resume
        /// from threads into processes.
        @Test func rowsAsAStream() throws {
            try expectNoLeaks {
                let directory = try TemporaryDirectory()
                defer { directory.remove() }
                let path = try SQLiteFixtures.write(in: directory, count: 29)
                let source = SQLiteSource(path: path, table: "samples", columns: SQLiteFixtures.columns)
                for (rowsPerShard, workers) in [(6, 1), (6, 2), (6, 3), (15, 3)] {
                    let description = SQLiteShards.Description(source: source, rowsPerShard: rowsPerShard)
                    let threads = try DataLoader(streaming: description, Self.configuration(.threads(workers)), shuffleBuffer: 4)
                    defer { threads.stop() }
                    let processes = try DataLoader(streaming: description, Self.configuration(.processes(workers)), shuffleBuffer: 4)
                    defer { processes.stop() }
                    let expected = try SQLiteFixtures.epoch(threads)
                    #expect(expected.flatMap { $0 }.sorted() == Array(0..<29))
                    #expect(try SQLiteFixtures.epoch(processes) == expected)
                }
                let description = SQLiteShards.Description(source: source, rowsPerShard: 6)
                let whole = try DataLoader(streaming: description, Self.configuration(.threads(2)), shuffleBuffer: 4)
                defer { whole.stop() }
                let expected = try SQLiteFixtures.epoch(whole)
                let partial = try DataLoader(streaming: description, Self.configuration(.threads(2)), shuffleBuffer: 4)
                var iterator = partial.makeBatchIterator()
                for _ in 0..<2 { _ = try iterator.next() }
                let state = partial.state
                partial.stop()
                let resumed = try DataLoader(streaming: description, Self.configuration(.processes(2)), shuffleBuffer: 4, resumingFrom: state)
                defer { resumed.stop() }
                #expect(try SQLiteFixtures.epoch(resumed) == Array(expected[2...]))
            }
        }

        /// A missing file, a file that is not a database and a database
        /// locked by a writer: each a clear error naming the file.
        @Test func badDatabasesAreClearErrors() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = try SQLiteFixtures.write(in: directory, count: 5)
            let garbage = directory.path + "/garbage.sqlite"
            try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: garbage))
            for bad in [directory.path + "/missing.sqlite", garbage] {
                let error = #expect(throws: ConveyorError.self) {
                    try SQLiteDataset(SQLiteSource(path: bad, table: "samples", columns: SQLiteFixtures.columns))
                }
                guard case let .invalidFile(failed, _)? = error else {
                    Issue.record("\(bad): \(String(describing: error))")
                    continue
                }
                #expect(failed == bad)
            }
            // A writer holds an exclusive lock: the read waits its busy timeout, then says so.
            let locker = Process()
            locker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            locker.arguments = ["python3", "-c", """
                import sqlite3, sys, time
                con = sqlite3.connect('\(path)', isolation_level=None)
                con.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.read()
                """]
            let (output, input) = (Pipe(), Pipe())
            locker.standardOutput = output
            locker.standardInput = input
            try locker.run()
            defer {
                try? input.fileHandleForWriting.close()  // the locker reads to the end of its input, then exits
                locker.waitUntilExit()
            }
            let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
            try #require(line.hasPrefix("locked"))
            let error = #expect(throws: ConveyorError.self) {
                try SQLiteDataset(SQLiteSource(path: path, table: "samples", columns: SQLiteFixtures.columns, busyTimeoutMilliseconds: 200))
            }
            #expect(String(describing: error).contains(path) && String(describing: error).contains("locked"), "\(String(describing: error))")
        }
    }
}

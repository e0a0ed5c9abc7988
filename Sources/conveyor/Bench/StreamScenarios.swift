import Conveyor
import Foundation

extension BenchCatalog {
    /// Data that does not fit in memory: tar shards streamed by worker
    /// processes (`stream-tar`) and SQLite rows read at random (`sqlite-read`),
    /// each beside the same read done by Python.
    static var streamScenarios: [BenchScenario] {
        [
            BenchScenario(
                name: "stream-tar",
                summary: "16 tar shards of 4 KiB samples (128 MiB; --quick 32 MiB) streamed by 2 worker processes, "
                    + "batches of 64, shards shuffled, the epoch after a warm one, read in place and copied out; "
                    + "Python's tarfile (and webdataset, when installed) reading the same shards"
            ) { quick in
                let shards = try TarBenchShards(samplesPerShard: quick ? 512 : 2048)
                defer { shards.remove() }
                var rows: [BenchRow] = []
                for (workers, inPlace) in [(WorkerBackend.inline, false), (.processes(2), true), (.processes(2), false)] {
                    rows.append(try await BenchSupport.best(quick: quick) { try shards.epoch(workers: workers, inPlace: inPlace) })
                }
                rows += StreamBench.python(["tar"] + shards.paths)
                if let python = rows.first(where: { $0.impl.hasPrefix("python tarfile") }) {
                    noteSpeedUp(of: &rows[0], over: python, "Python's tarfile")
                    noteSpeedUp(of: &rows[1], over: python, "Python's tarfile")
                }
                return rows
            },
            BenchScenario(
                name: "sqlite-read",
                summary: "an SQLite table of rows (id, a 4 KiB BLOB, an integer; 8 KiB pages), 32,768 rows (--quick 8,192), "
                    + "shuffled, batches of 64, 2 worker processes each with its own read-only connection; "
                    + "Python's sqlite3 doing the same reads"
            ) { quick in
                let table = try SQLiteBenchTable(count: quick ? 8192 : 32_768)
                defer { table.remove() }
                var rows: [BenchRow] = []
                for workers in [WorkerBackend.inline, .processes(2)] {
                    rows.append(try await BenchSupport.best(quick: quick) { try table.epoch(workers: workers) })
                }
                rows += StreamBench.python(["sqlite", table.path, "\(table.count)"])
                if rows.count > 2 {
                    noteSpeedUp(of: &rows[0], over: rows[2], "Python's sqlite3")
                    noteSpeedUp(of: &rows[1], over: rows[2], "Python's sqlite3")
                }
                return rows
            },
        ]
    }
}

/// Tar shards written for the bench: sample `k` (numbered across shards)
/// is `k.bin`, 4096 bytes, byte `j` = `(k + j) mod 256`.
struct TarBenchShards {
    static let shardCount = 16
    static let sampleBytes = 4096

    let directory: String
    let paths: [String]
    let count: Int

    init(samplesPerShard: Int) throws {
        directory = FileManager.default.temporaryDirectory.path + "/conveyor-tar-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var paths: [String] = []
        for shard in 0..<TarBenchShards.shardCount {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(samplesPerShard * (TarBenchShards.sampleBytes + 1024) + 1024)
            for sample in (shard * samplesPerShard)..<((shard + 1) * samplesPerShard) {
                let data = (0..<TarBenchShards.sampleBytes).map { UInt8(truncatingIfNeeded: sample + $0) }
                bytes += TarSampleWriter.bytes(key: String(sample), files: [("bin", data)])
            }
            bytes += TarSampleWriter.endOfArchive
            let path = directory + "/shard-" + String(format: "%06d", shard) + ".tar"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        self.paths = paths
        count = samplesPerShard * TarBenchShards.shardCount
    }

    /// One timed epoch (after a warm one).
    func epoch(workers: WorkerBackend, inPlace: Bool) throws -> BenchRow {
        let loader = try DataLoader(
            streaming: TarShards.Description(paths: paths),
            LoaderConfiguration(batchSize: 64, sampler: .shuffled, workers: workers, prefetch: 4, seed: 3,
                                batchTimeout: .seconds(60), label: "bench"))
        let how = inPlace ? ", in place" : workers == .inline ? "" : ", copied"
        return try StreamBench.timedEpoch(
            loader, scenario: "stream-tar", impl: "conveyor TarShards (\(BenchCatalog.workersLabel(workers))\(how))",
            items: count, field: "bin", inPlace: inPlace)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// An SQLite table written for the bench by python3's sqlite3 (the bench
/// itself links SQLite only through the library): row `i` has id `i`, a
/// 4096-byte BLOB whose byte `j` is `(i + j) mod 256`, and label `i`. Its
/// pages are 8 KiB, so a row fits its page (with 4 KiB pages every row
/// spills onto an overflow page, which SQLite reads and assembles in a
/// buffer): the layout one picks for rows of this size, and the same file
/// for Conveyor and for Python.
struct SQLiteBenchTable {
    let directory: String
    let count: Int
    var path: String { directory + "/bench.sqlite" }

    init(count: Int) throws {
        self.count = count
        directory = FileManager.default.temporaryDirectory.path + "/conveyor-sqlite-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = """
            import sqlite3
            con = sqlite3.connect('\(directory)/bench.sqlite')
            con.execute('PRAGMA page_size = 8192')
            con.execute('CREATE TABLE samples (id INTEGER PRIMARY KEY, data BLOB, label INTEGER)')
            con.executemany('INSERT INTO samples VALUES (?, ?, ?)',
                ((i, bytes((i + j) % 256 for j in range(4096)), i) for i in range(\(count))))
            con.commit()
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ConveyorError.unavailable("python3 could not write the bench's SQLite table (sqlite-read needs python3)")
        }
    }

    /// One timed epoch (after a warm one), read in place.
    func epoch(workers: WorkerBackend) throws -> BenchRow {
        let source = SQLiteSource(
            path: path, table: "samples", key: "id",
            columns: [SQLiteColumn("data", .bytes(maxCount: 4096)), SQLiteColumn("label", .int64)])
        let loader = try DataLoader(
            describedBy: SQLiteDataset.Description(source: source),
            LoaderConfiguration(batchSize: 64, sampler: .shuffled, workers: workers, prefetch: 4, seed: 3,
                                batchTimeout: .seconds(60), label: "bench"))
        return try StreamBench.timedEpoch(
            loader, scenario: "sqlite-read", impl: "conveyor SQLiteDataset (\(BenchCatalog.workersLabel(workers)), in place)",
            items: count, field: "data", inPlace: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The consumer side of the stream rows.
enum StreamBench {
    /// Iterates one epoch; sample `index` must hold bytes `(index + j) mod 256`
    /// in `field` (its first and last byte are checked).
    static func drain(_ loader: DataLoader<TensorBatch>, items: Int, field: String, inPlace: Bool) throws -> DeliveryCheck {
        var check = DeliveryCheck(items: items)
        func record(_ bytes: UnsafeRawBufferPointer, _ indices: some Collection<Int>) {
            let size = 4096
            for (position, index) in indices.enumerated() {
                let intact = bytes[position * size] == UInt8(truncatingIfNeeded: index)
                    && bytes[position * size + size - 1] == UInt8(truncatingIfNeeded: index + size - 1)
                check.record(index: index, intact: intact)
            }
        }
        var batches = loader.makeBatchIterator()
        if inPlace {
            while try batches.next(inPlace: { (batch: borrowing BatchView) in
                try batch.withUnsafeBytes(of: field) { record($0, batch.indices) }
            }) != nil {}
        } else {
            while let batch = try batches.next() {
                batch[field]!.withUnsafeBytes { record($0, batch.indices) }
            }
        }
        return check
    }

    /// "stall N%; workers busy [a, b]%" for the last epoch.
    static func stallNote(_ loader: DataLoader<TensorBatch>) -> String? {
        guard let stats = loader.epochHistory.last else { return nil }
        let busy = stats.workerBusyShare.map { String(Int(($0 * 100).rounded())) }.joined(separator: ", ")
        return "stall \(Int((stats.dataStallShare * 100).rounded()))%; workers busy [\(busy)]%"
    }

    /// Rows of Tests/Comparisons/stream_readers.py run with `arguments`.
    static func python(_ arguments: [String]) -> [BenchRow] {
        ComparisonScript.rows("stream_readers.py", arguments)
    }

    /// One epoch of `loader` timed after a warm one, as a row of `scenario`.
    static func timedEpoch(
        _ loader: DataLoader<TensorBatch>, scenario: String, impl: String, items: Int, field: String, inPlace: Bool
    ) throws -> BenchRow {
        defer { loader.stop() }
        _ = try drain(loader, items: items, field: field, inPlace: inPlace)
        let start = BenchSupport.now()
        let check = try drain(loader, items: items, field: field, inPlace: inPlace)
        var row = BenchRow(
            scenario: scenario, impl: impl, items: items, itemBytes: 4096, workers: loader.configuration.workers.workerCount,
            seconds: BenchSupport.now() - start, corrupt: check.corrupt, missing: check.missing, duplicated: check.duplicated)
        row.note = stallNote(loader)
        return row
    }
}

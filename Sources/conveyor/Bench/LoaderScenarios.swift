import Conveyor

extension BenchCatalog {
    /// The data loader: CPU-bound samples at 0, 1 and 2 worker threads (the
    /// speed-up), the sleep workload through the loader, and the first batch's latency.
    static var loaderScenarios: [BenchScenario] {
        [
            loaderCPUScenario(
                name: "loader-cpu-threads",
                summary: "synthetic 64×64×3 images, ~2 ms of CPU each, batches of 16: inline, 1 and 2 threads",
                backends: [.inline, .threads(1), .threads(2)], baselineLabel: "1 thread"),
            BenchScenario(
                name: "loader-sleep-threads",
                summary: "2 threads, 100 samples of 256 KiB, 20 ms to make (sleep), 10 ms to use; ideal 1.0 s"
            ) { quick in
                [try await BenchSupport.best(quick: quick) { try loaderSleep() }]
            },
            BenchScenario(
                name: "loader-first-batch",
                summary: "time from creating a loader with 2 worker threads to its first batch"
            ) { quick in
                [try await BenchSupport.best(quick: quick) { try loaderFirstBatch() }]
            },
        ]
    }

    /// The CPU-bound loader workload over `backends`; the last row notes its
    /// speed-up over the one before it (one worker).
    static func loaderCPUScenario(
        name: String, summary: String, backends: [WorkerBackend], baselineLabel: String
    ) -> BenchScenario {
        BenchScenario(name: name, summary: summary) { quick in
            let work = SyntheticImageDataset.work(for: .milliseconds(2))
            var rows: [BenchRow] = []
            for workers in backends {
                rows.append(try await BenchSupport.best(quick: quick) {
                    try loaderCPU(workers: workers, work: work, scenario: name)
                })
            }
            if rows.count >= 2 { noteSpeedUp(of: &rows[rows.count - 1], over: rows[rows.count - 2], baselineLabel) }
            return rows
        }
    }

    /// Adds "speed-up over <baseline> N×" to `row`'s note.
    static func noteSpeedUp(of row: inout BenchRow, over baseline: BenchRow, _ label: String) {
        guard baseline.seconds > 0, row.seconds > 0 else { return }
        let speedUp = (baseline.seconds / row.seconds * 100).rounded() / 100
        row.note = [row.note, "speed-up over \(label) \(speedUp)×"].compactMap { $0 }.joined(separator: "; ")
    }

    static func workersLabel(_ workers: WorkerBackend) -> String {
        switch workers {
        case .inline: "inline"
        case let .threads(count): "\(count) thread\(count == 1 ? "" : "s")"
        case let .processes(count): "\(count) process\(count == 1 ? "" : "es")"
        }
    }

    /// Iterates one epoch of `loader`, checking every batch's indices; returns
    /// the seconds it took and how many samples were wrong or missing.
    static func drain(
        _ loader: DataLoader<TensorBatch>, expected: Int, consumeSeconds: Double = 0
    ) throws -> (seconds: Double, corrupt: Int, missing: Int) {
        let start = BenchSupport.now()
        var next = 0
        var corrupt = 0
        var batches = loader.makeBatchIterator()
        while let batch = try batches.next() {
            for index in batch.indices {
                if index != next { corrupt += 1 }
                next += 1
            }
            if consumeSeconds > 0 { BenchSupport.sleep(seconds: consumeSeconds) }
        }
        return (BenchSupport.now() - start, corrupt, max(0, expected - next))
    }

    static func loaderCPU(workers: WorkerBackend, work: Int, scenario: String) throws -> BenchRow {
        let samples = 512
        let dataset = try SyntheticImageDataset(count: samples, height: 64, width: 64, channels: 3, workPerSample: work)
        let loader = try DataLoader(
            collating: dataset, LoaderConfiguration(batchSize: 16, workers: workers, prefetch: 2, label: "bench"))
        defer { loader.stop() }
        let (seconds, corrupt, missing) = try drain(loader, expected: samples)
        var row = BenchRow(
            scenario: scenario, impl: "conveyor DataLoader (\(workersLabel(workers)))", items: samples,
            itemBytes: 64 * 64 * 3 + 8, workers: workers.workerCount, seconds: seconds, corrupt: corrupt, missing: missing)
        let stats = loader.epochHistory.last
        row.note = stats.map { "stall \(Int(($0.dataStallShare * 100).rounded()))%" }
        return row
    }

    static func loaderSleep() throws -> BenchRow {
        let samples = 100
        let dataset = try SyntheticImageDataset(
            count: samples, height: 256, width: 256, channels: 4, sleepPerSample: .milliseconds(20))
        let loader = try DataLoader(
            collating: dataset, LoaderConfiguration(batchSize: 1, workers: .threads(2), prefetch: 5, label: "bench"))
        defer { loader.stop() }
        let (seconds, corrupt, missing) = try drain(loader, expected: samples, consumeSeconds: 0.010)
        var row = BenchRow(
            scenario: "loader-sleep-threads", impl: "conveyor DataLoader (2 threads)", items: samples,
            itemBytes: 256 * 256 * 4 + 8, workers: 2, seconds: seconds, corrupt: corrupt, missing: missing)
        row.efficiency = (1.0 / seconds * 1000).rounded() / 1000
        return row
    }

    static func loaderFirstBatch() throws -> BenchRow {
        let dataset = try SyntheticImageDataset(count: 64, height: 64, width: 64, channels: 3)
        let start = BenchSupport.now()
        let loader = try DataLoader(collating: dataset, LoaderConfiguration(batchSize: 16, workers: .threads(2)))
        var batches = loader.makeBatchIterator()
        let first = try batches.next()
        let seconds = BenchSupport.now() - start
        loader.stop()
        var row = BenchRow(
            scenario: "loader-first-batch", impl: "conveyor DataLoader (2 threads)", items: 1,
            itemBytes: 16 * (64 * 64 * 3 + 8), workers: 2, seconds: seconds, missing: first == nil ? 1 : 0)
        row.p50_us = (seconds * 1e7).rounded() / 10
        return row
    }
}

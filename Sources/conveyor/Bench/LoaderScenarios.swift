import Conveyor

extension BenchCatalog {
    /// The data loader: CPU-bound samples at 0, 1 and 2 worker threads (the
    /// speed-up), the sleep workload through the loader, and the first batch's latency.
    static var loaderScenarios: [BenchScenario] {
        [
            BenchScenario(
                name: "loader-cpu-threads",
                summary: "synthetic 64×64×3 images, ~2 ms of CPU each, batches of 16: inline, 1 and 2 threads"
            ) { quick in
                let work = SyntheticImageDataset.work(for: .milliseconds(2))
                var rows: [BenchRow] = []
                for workers in [WorkerBackend.inline, .threads(1), .threads(2)] {
                    rows.append(try await BenchSupport.best(quick: quick) { try loaderCPU(workers: workers, work: work) })
                }
                if rows[1].seconds > 0, rows[2].seconds > 0 {
                    let speedUp = (rows[1].seconds / rows[2].seconds * 100).rounded() / 100
                    rows[2].note = [rows[2].note, "speed-up over 1 thread \(speedUp)×"].compactMap { $0 }.joined(separator: "; ")
                }
                return rows
            },
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

    static func loaderCPU(workers: WorkerBackend, work: Int, scenario: String = "loader-cpu-threads") throws -> BenchRow {
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

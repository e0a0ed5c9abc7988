import Conveyor

/// What one mode's run measured.
struct DemoResult: Sendable {
    var mode: DemoMode
    var label: String
    /// Seconds each batch took to arrive (the loop's wait in `next()`), all epochs in order.
    var fetchSeconds: [Double]
    /// Wall seconds of each epoch, steps included.
    var epochSeconds: [Double]
    /// The loader's stats of each epoch (data stall, workers' busy share).
    var epochStats: [LoaderStats]

    /// The mean epoch time.
    var meanEpochSeconds: Double { epochSeconds.reduce(0, +) / Double(max(1, epochSeconds.count)) }
    /// The share of the whole run the loop waited for data.
    var dataStallShare: Double {
        let total = epochSeconds.reduce(0, +)
        return total > 0 ? min(1, fetchSeconds.reduce(0, +) / total) : 0
    }
}

/// Runs the demo's training loop in one mode: makes the loader, iterates
/// its epochs, waits out a step per batch, and keeps a live line going.
struct DemoRun {
    let workload: DemoWorkload
    let mode: DemoMode

    func run() throws -> DemoResult {
        let label = mode.label(workers: workload.workers)
        let loader = try DataLoader(collating: try workload.dataset(), workload.configuration(mode))
        defer { loader.stop() }
        let total = workload.batchesPerEpoch * workload.epochs
        var line = LiveLine()
        var fetch: [Double] = []
        var epochs: [Double] = []
        fetch.reserveCapacity(total)
        let start = BenchSupport.now()
        for epoch in 0..<workload.epochs {
            let epochStart = BenchSupport.now()
            var batches = loader.makeBatchIterator()
            while true {
                let asked = BenchSupport.now()
                guard try batches.next() != nil else { break }
                let arrived = BenchSupport.now()
                fetch.append(arrived - asked)
                BenchSupport.sleep(seconds: workload.stepMilliseconds / 1000)  // the training step
                line.update(now: BenchSupport.now()) {
                    progress(label, epoch: epoch, done: fetch.count, total: total, elapsed: BenchSupport.now() - start,
                             stats: loader.stats)
                }
            }
            epochs.append(BenchSupport.now() - epochStart)
        }
        let result = DemoResult(mode: mode, label: label, fetchSeconds: fetch, epochSeconds: epochs,
                                epochStats: loader.epochHistory)
        line.finish(summary(of: result))
        return result
    }

    /// "2 worker threads  epoch 1/2  batch 120/400  31.2 batches/s  stall 4%  busy 71% 70%  ETA 9.0 s"
    private func progress(
        _ label: String, epoch: Int, done: Int, total: Int, elapsed: Double, stats: LoaderStats
    ) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var parts = [
            Format.pad(label, 22), "epoch \(epoch + 1)/\(workload.epochs)", "batch \(done)/\(total)",
            Format.fixed(rate, 1) + " batches/s", "data stall " + Format.fixed(stats.dataStallShare * 100, 0) + "%",
        ]
        if !stats.workerBusyShare.isEmpty {
            parts.append("workers busy " + stats.workerBusyShare.map { Format.fixed($0 * 100, 0) + "%" }.joined(separator: " "))
        }
        if rate > 0 { parts.append("ETA " + Format.duration(Double(total - done) / rate)) }
        return parts.joined(separator: "  ")
    }

    private func summary(of result: DemoResult) -> String {
        Format.pad(result.label, 22) + "  done: \(result.fetchSeconds.count) batches in "
            + Format.duration(result.epochSeconds.reduce(0, +)) + ", data stall "
            + Format.fixed(result.dataStallShare * 100, 0) + "%"
    }
}

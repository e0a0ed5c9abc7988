import Conveyor

/// What the demo's training loop does: its dataset, batches and step cost.
struct DemoWorkload: Sendable {
    /// Samples per epoch.
    var samples: Int
    var batchSize: Int
    var epochs: Int
    var workers: Int
    /// CPU time each sample costs to make (as decoding and augmenting would).
    var decodeMilliseconds: Double
    /// Time each sample waits (as reading it from storage would).
    var readMilliseconds: Double
    /// Time each training step takes; the loop waits it out, as it would wait for a GPU.
    var stepMilliseconds: Double
    /// Rounds of `SyntheticImageDataset` work that cost `decodeMilliseconds` here, measured once.
    var workPerSample: Int

    /// Batches in one epoch (the last one may be short).
    var batchesPerEpoch: Int { (samples + batchSize - 1) / batchSize }

    /// The dataset: 64×64×3 synthetic images with the configured costs.
    func dataset() throws -> SyntheticImageDataset {
        try SyntheticImageDataset(
            count: samples, height: 64, width: 64, workPerSample: workPerSample,
            sleepPerSample: .nanoseconds(Int64(readMilliseconds * 1e6)))
    }

    /// The loader configuration for `mode`.
    func configuration(_ mode: DemoMode) -> LoaderConfiguration {
        LoaderConfiguration(
            batchSize: batchSize, sampler: .shuffled, workers: mode.backend(workers: workers), prefetch: 4, seed: 42,
            batchTimeout: .seconds(120), label: "demo-\(mode.rawValue)")
    }

    /// The summary for the report's head, in two parts: the data, then the costs.
    var summary: (data: String, costs: String) {
        ("\(samples) synthetic 64×64×3 images per epoch, batches of \(batchSize), \(epochs) epoch\(epochs == 1 ? "" : "s")",
         "each sample \(Format.fixed(decodeMilliseconds, 2)) ms of CPU (decode) + \(Format.fixed(readMilliseconds, 2)) ms "
            + "of waiting (read); each training step \(Format.fixed(stepMilliseconds, 1)) ms")
    }
}

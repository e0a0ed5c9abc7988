// The process backend's whole pattern, as the README shows it: this program
// is its own worker. Its `main` calls the bootstrap first; the loader spawns
// this very program twice, and in those two the bootstrap becomes a worker
// that makes batches until the loader stops it.
import Conveyor

/// The dataset, described by a few `Codable` numbers: each worker process
/// makes it from them. Sample `i`: a noisy ramp of `length` floats whose
/// slope is its label; the noise comes from the generator the loader derives
/// from (seed, epoch, index), so it is the same for any number of workers.
struct Ramps: SchemaDataset, DatasetDescription {
    var count: Int
    var length: Int

    static let typeName = "Ramps"

    func makeDataset() -> Ramps { self }

    var schema: Schema {
        try! Schema([Field("ramp", .float32, shape: [length]), Field("slope", .int64, shape: [])])
    }

    func sample(at index: Int) throws -> Sample {
        try sample(at: index, context: SampleContext())
    }

    func sample(at index: Int, context: SampleContext) throws -> Sample {
        var random = context.random(for: index)
        let slope = index % 10
        let ramp = (0..<length).map { step in Float(slope * step) + Float.random(in: -0.5...0.5, using: &random) }
        return Sample(["ramp": try Tensor(ramp, shape: [length]), "slope": Tensor(scalar: Int64(slope))])
    }
}

// First thing: in a worker process this never returns.
WorkerProcess.bootstrap(datasets: Ramps.self)

let loader = try DataLoader(
    describedBy: Ramps(count: 1000, length: 64),
    LoaderConfiguration(batchSize: 32, sampler: .shuffled, workers: .processes(2), prefetch: 4, seed: 7,
                        batchTimeout: .seconds(60)))
defer { loader.stop() }

for epoch in 0..<2 {
    var samples = 0
    var error = 0.0
    for try await batch in loader {
        // A training step would go here: predict each ramp's slope from its last value.
        let ramps = try batch["ramp"]!.scalars(as: Float.self)
        let slopes = try batch["slope"]!.scalars(as: Int64.self)
        for (sample, slope) in slopes.enumerated() {
            let predicted = Double(ramps[sample * 64 + 63]) / 63
            error += abs(predicted - Double(slope))
        }
        samples += batch.count
    }
    let stats = loader.epochHistory.last!
    print("epoch \(epoch): \(stats.batches) batches, \(samples) samples, mean error \((error / Double(samples) * 1000).rounded() / 1000)")
    print("  \(stats)")
}
print("done: \(loader.workerProcessIDs.count) worker processes, state \(loader.state)")

import Conveyor
import Foundation

// The Swift side of the torch-npy comparison: the same loader Python's
// conveyor.torch runs (a NumpyDataset of the images, batches of 64, shuffled,
// 2 worker processes), consumed in place from Swift. Prints the samples per
// second of the second epoch.
//
//     loader-epoch IMAGES.npy
WorkerProcess.bootstrap()

@MainActor func main() throws {
    guard CommandLine.arguments.count == 2 else {
        FileHandle.standardError.write(Data("usage: loader-epoch IMAGES.npy\n".utf8))
        exit(2)
    }
    let loader = try DataLoader(
        describedBy: NumpyDataset.Description(path: CommandLine.arguments[1], field: "image"),
        LoaderConfiguration(batchSize: 64, sampler: .shuffled, workers: .processes(2), seed: 1,
                            batchTimeout: .seconds(60)))
    defer { loader.stop() }
    var seconds = 0.0
    var samples = 0
    for epoch in 0..<2 {
        let clock = ContinuousClock()
        let started = clock.now
        var batches = loader.makeBatchIterator()
        var count = 0
        while let size = try batches.next(inPlace: { batch in batch.count }) { count += size }
        let elapsed = clock.now - started
        if epoch == 1 {
            seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            samples = count
        }
    }
    print("samples \(samples) seconds \(seconds) samples_per_s \(Double(samples) / seconds)")
}

try main()

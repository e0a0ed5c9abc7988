import Conveyor

extension BenchCatalog {
    /// The data loader's process backend: the shared prefetch-sleep workload,
    /// the CPU-bound speed-up, and the first batch from fresh worker processes.
    /// Worker processes are this program re-run; its `main` calls the bootstrap.
    static var processLoaderScenarios: [BenchScenario] {
        [
            BenchScenario(
                name: "prefetch-sleep-processes",
                summary: "2 worker processes, 100 items of 256k, 20 ms to make (sleep), 10 ms to use; ideal 1.0 s; "
                    + "timed from creating the loader (spawning included)"
            ) { quick in
                var row = try await BenchSupport.best(quick: quick) { try ProcessLoaderBench.prefetchSleep(warm: false) }
                let warm = try await BenchSupport.best(quick: quick) { try ProcessLoaderBench.prefetchSleep(warm: true) }
                row.note = [row.note, "with the workers already started (timed from the iteration, as the threads "
                    + "scenario is): efficiency \(warm.efficiency ?? 0)"].compactMap { $0 }.joined(separator: "; ")
                return [row]
            },
            loaderCPUScenario(
                name: "loader-cpu-processes",
                summary: "synthetic 64×64×3 images, ~2 ms of CPU each, batches of 16: 1 and 2 worker processes",
                backends: [.processes(1), .processes(2)], baselineLabel: "1 process"),
            BenchScenario(
                name: "loader-first-batch-processes",
                summary: "time from creating a loader with 2 fresh worker processes to its first batch"
            ) { quick in
                [try await BenchSupport.best(quick: quick) { try ProcessLoaderBench.firstBatch() }]
            },
        ]
    }
}

/// The consumer side of the process-loader scenarios.
enum ProcessLoaderBench {
    static let impl = "conveyor DataLoader (processes)"

    /// The shared prefetch-sleep workload through 2 worker processes, timed from
    /// creating the loader, or (`warm`) from the iteration of a loader whose
    /// workers have had 100 ms to start.
    static func prefetchSleep(warm: Bool) throws -> BenchRow {
        let items = ScenarioItemsDataset(count: 100, floats: 65_536, ints: 16, sleepNanoseconds: 20_000_000)
        var start = BenchSupport.now()
        let loader = try DataLoader(
            describedBy: items, LoaderConfiguration(batchSize: 1, workers: .processes(2), prefetch: 5, label: "bench"))
        defer { loader.stop() }
        if warm {
            BenchSupport.sleep(seconds: 0.1)
            start = BenchSupport.now()
        }
        var check = DeliveryCheck(items: items.count)
        var batches = loader.makeBatchIterator()
        var firstAt: Double?
        var waited = 0.0, slept = 0.0
        var asked = BenchSupport.now()
        // Each item is read in place, in the slot its worker wrote: nothing is copied.
        while let (k, intact) = try batches.next(inPlace: { (batch: borrowing BatchView) -> (Int, Bool) in
            let (firstFloat, lastFloat) = try batch.withUnsafeBytes(of: "F") {
                ($0.load(as: Float.self), $0.load(fromByteOffset: $0.count - 4, as: Float.self))
            }
            let (firstInt, lastInt) = try batch.withUnsafeBytes(of: "I") {
                ($0.load(as: Int32.self), $0.load(fromByteOffset: $0.count - 4, as: Int32.self))
            }
            let k = Int(firstInt)
            return (k, k == batch.indices.first && firstFloat == Float(k) && lastFloat == Float(k) && lastInt == Int32(k))
        }) {
            let got = BenchSupport.now()
            waited += got - asked
            if firstAt == nil { firstAt = got - start }
            check.record(index: k, intact: intact)
            BenchSupport.sleep(seconds: 0.010)
            asked = BenchSupport.now()
            slept += asked - got
        }
        let seconds = BenchSupport.now() - start
        var row = BenchRow(
            scenario: "prefetch-sleep-processes", impl: impl, items: items.count, itemBytes: (65_536 + 16) * 4,
            workers: 2, seconds: seconds, corrupt: check.corrupt, missing: check.missing, duplicated: check.duplicated)
        row.efficiency = (1.0 / seconds * 1000).rounded() / 1000
        // Where the time above the ideal went, as the threads rows say it: the consumer's wait for data (the
        // first item cannot come before the workers started and made it) and its own sleeps.
        row.note = "consumer waited \(Int((waited * 1000).rounded())) ms for data (first item after "
            + "\(Int(((firstAt ?? 0) * 1000).rounded())) ms: \(warm ? "" : "spawning, start-up and ")20 ms to make); "
            + "its \(items.count) sleeps of 10 ms took \(Int((slept * 1000).rounded())) ms"
        return row
    }

    static func firstBatch() throws -> BenchRow {
        let dataset = try SyntheticImageDataset(count: 64, height: 64, width: 64, channels: 3)
        let start = BenchSupport.now()
        let loader = try DataLoader(collating: dataset, LoaderConfiguration(batchSize: 16, workers: .processes(2)))
        let spawned = BenchSupport.now() - start
        var batches = loader.makeBatchIterator()
        let first = try batches.next()
        let seconds = BenchSupport.now() - start
        loader.stop()
        var row = BenchRow(
            scenario: "loader-first-batch-processes", impl: impl, items: 1, itemBytes: 16 * (64 * 64 * 3 + 8),
            workers: 2, seconds: seconds, missing: first == nil ? 1 : 0)
        row.p50_us = (seconds * 1e7).rounded() / 10
        row.note = "posix_spawn of both workers took \((spawned * 1e4).rounded() / 10) ms"
        return row
    }
}

/// Item k of the shared scenarios as a dataset a worker process can make:
/// "F" f32[floats] and "I" i32[ints], all equal to k, each taking
/// `sleepNanoseconds` to make.
struct ScenarioItemsDataset: SchemaDataset, DatasetDescription {
    var count: Int
    var floats: Int
    var ints: Int
    var sleepNanoseconds: Int64

    static let typeName = "ScenarioItems"

    func makeDataset() -> ScenarioItemsDataset { self }

    var schema: Schema {
        try! Schema([Field("F", .float32, shape: [floats]), Field("I", .int32, shape: [ints])])
    }

    func sample(at index: Int) throws -> Sample {
        let item = ScenarioItem(index, floats: floats, ints: ints)
        return Sample(["F": try Tensor(item.floats, shape: [floats]), "I": try Tensor(item.ints, shape: [ints])])
    }

    func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
        if sleepNanoseconds > 0 { BenchSupport.sleep(seconds: Double(sleepNanoseconds) / 1e9) }
        try writer.withUnsafeMutableBufferPointer(of: "F", as: Float.self) { ItemFill.fill($0, with: Float(index)) }
        try writer.withUnsafeMutableBufferPointer(of: "I", as: Int32.self) { ItemFill.fill($0, with: Int32(index)) }
    }
}

import Foundation
import Synchronization
import Testing
@testable import Conveyor

/// Counts calls and fails or sleeps at chosen indices.
struct ScriptedDataset: Dataset {
    var count: Int
    var failAt: Int? = nil
    var sleepAt: Int? = nil
    var sleep: Duration = .zero
    var calls: CallCounter = CallCounter()

    struct Broken: Error, CustomStringConvertible {
        var description: String { "the disk said no" }
    }

    func sample(at index: Int) throws -> Int {
        calls.add()
        if index == sleepAt { Thread.sleep(forTimeInterval: Double(sleep.components.seconds) + Double(sleep.components.attoseconds) / 1e18) }
        if index == failAt { throw Broken() }
        return index
    }
}

final class CallCounter: Sendable {
    private let value = Atomic(0)
    func add() { value.add(1, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

/// Everything that identifies a collated batch's content.
struct BatchDigest: Hashable {
    var epoch: Int
    var index: Int
    var indices: [Int]
    var bytes: [[UInt8]]

    init(_ batch: TensorBatch) {
        epoch = batch.epoch
        index = batch.index
        indices = batch.indices
        bytes = batch.tensors.map(\.bytes)
    }
}

@Suite struct DataLoaderTests {
    /// Small images, shuffled, with a random augmentation that depends on (seed, epoch, index).
    static func augmentedImages() throws -> MapDataset<SyntheticImageDataset, Sample> {
        try SyntheticImageDataset(count: 23, height: 2, width: 3, channels: 1, seed: 4).map { sample, random in
            var sample = sample
            sample["label"] = Tensor(scalar: Int64(random.next() % 1000))
            return sample
        }
    }

    static func collect(_ loader: DataLoader<TensorBatch>, epochs: Int) throws -> [BatchDigest] {
        var all: [BatchDigest] = []
        for _ in 0..<epochs {
            var batches = loader.makeBatchIterator()
            while let batch = try batches.next() { all.append(BatchDigest(batch)) }
        }
        return all
    }

    static let backends: [WorkerBackend] = [.inline, .threads(1), .threads(2), .threads(3)]

    @Test func sameBatchesForAnyWorkerCount() throws {
        let dataset = try Self.augmentedImages()
        var results: [[BatchDigest]] = []
        for workers in Self.backends {
            let configuration = LoaderConfiguration(batchSize: 5, sampler: .shuffled, workers: workers, seed: 11)
            results.append(try Self.collect(DataLoader(collating: dataset, configuration), epochs: 2))
        }
        #expect(results[0].count == 10)
        #expect(results[0].map(\.index) == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
        #expect(results[0][0].indices != results[0][5].indices, "reshuffled per epoch")
        for (workers, result) in zip(Self.backends, results).dropFirst() {
            #expect(result == results[0], "\(workers) differs from inline")
        }
    }

    @Test func asyncIterationDeliversTheSameBatches() async throws {
        let dataset = try Self.augmentedImages()
        let configuration = LoaderConfiguration(batchSize: 4, sampler: .shuffled, workers: .threads(2), seed: 3)
        let syncLoader = try DataLoader(collating: dataset, configuration)
        let expected = try Self.collect(syncLoader, epochs: 1)
        let loader = try DataLoader(collating: dataset, configuration)
        var got: [BatchDigest] = []
        for try await batch in loader { got.append(BatchDigest(batch)) }
        #expect(got == expected)
    }

    @Test(arguments: [(WorkerBackend.threads(3), WorkerBackend.inline), (.inline, .threads(2)), (.threads(2), .threads(1))])
    func resumingGivesExactlyTheUninterruptedBatches(first: WorkerBackend, second: WorkerBackend) throws {
        let dataset = try Self.augmentedImages()
        let configuration = LoaderConfiguration(batchSize: 4, sampler: .shuffled, workers: .threads(2), seed: 99)
        let uninterrupted = try Self.collect(DataLoader(collating: dataset, configuration), epochs: 3)

        var interrupted = configuration
        interrupted.workers = first
        let loader = try DataLoader(collating: dataset, interrupted)
        var got = try Self.collect(loader, epochs: 1)
        var batches = loader.makeBatchIterator()
        for _ in 0..<2 { got.append(BatchDigest(try #require(try batches.next()))) }
        let saved = try JSONEncoder().encode(loader.state)
        loader.stop()

        let state = try JSONDecoder().decode(LoaderState.self, from: saved)
        #expect(state == LoaderState(seed: 99, epoch: 1, nextBatch: 2))
        var resumedConfiguration = configuration
        resumedConfiguration.workers = second
        resumedConfiguration.seed = 0  // the state's seed wins
        let resumed = try DataLoader(collating: dataset, resumedConfiguration, resumingFrom: state)
        got += try Self.collect(resumed, epochs: 2)
        #expect(got == uninterrupted)
    }

    @Test(arguments: [WorkerBackend.inline, .threads(2), .threads(3)])
    func datasetErrorArrivesAtItsBatchThenIterationEnds(workers: WorkerBackend) throws {
        let dataset = ScriptedDataset(count: 40, failAt: 13)
        let loader = try DataLoader(dataset, LoaderConfiguration(batchSize: 4, workers: workers))
        var batches = loader.makeBatchIterator()
        var delivered: [Int] = []
        let error = #expect(throws: ConveyorError.self) {
            while let batch = try batches.next() { delivered.append(batch.index) }
        }
        #expect(delivered == [0, 1, 2])
        let worker: Int? = workers == .inline ? nil : 3 % workers.workerCount
        let message = "the disk said no"
        #expect(error == .sourceFailed(index: 13, worker: worker, message: message))
        #expect(try batches.next() == nil, "the iteration ended cleanly")
        #expect(loader.state == LoaderState(seed: 0, epoch: 0, nextBatch: 3))
        var next = loader.makeBatchIterator()
        #expect(try next.next()?.epoch == 1, "the next iteration is the next epoch")
    }

    @Test func aSlowBatchTimesOutWithItsOwnError() throws {
        let dataset = ScriptedDataset(count: 20, sleepAt: 5, sleep: .seconds(2))
        let configuration = LoaderConfiguration(batchSize: 4, workers: .threads(2), batchTimeout: .milliseconds(400))
        let loader = try DataLoader(dataset, configuration)
        var batches = loader.makeBatchIterator()
        #expect(try batches.next()?.index == 0)
        let error = #expect(throws: ConveyorError.self) { try batches.next() }
        #expect(error == .timedOut(operation: "waiting for batch 1 of epoch 0 from worker 1", after: .milliseconds(400)))
        #expect(try batches.next() == nil)
    }

    @Test func stopEndsWorkersMidEpoch() throws {
        let dataset = ScriptedDataset(count: 10_000)
        let loader = try DataLoader(dataset, LoaderConfiguration(batchSize: 2, workers: .threads(2), prefetch: 2))
        var batches = loader.makeBatchIterator()
        #expect(try batches.next()?.index == 0)
        loader.stop()
        let callsAfterStop = dataset.calls.count
        Thread.sleep(forTimeInterval: 0.05)
        #expect(dataset.calls.count == callsAfterStop, "no worker makes samples after stop() returns")
        #expect(callsAfterStop < 100, "workers made only what their lanes hold")
        #expect(try batches.next() == nil)
        var after = loader.makeBatchIterator()
        #expect(throws: ConveyorError.self) { try after.next() }
    }

    @Test func droppingTheLoaderMidEpochStopsItsWorkers() throws {
        let dataset = ScriptedDataset(count: 10_000)
        do {
            let loader = try DataLoader(dataset, LoaderConfiguration(batchSize: 2, workers: .threads(3)))
            var batches = loader.makeBatchIterator()
            _ = try batches.next()
        }
        let calls = dataset.calls.count
        Thread.sleep(forTimeInterval: 0.05)
        #expect(dataset.calls.count == calls, "the loader's deinit joined its workers")
    }

    @Test func breakingOffAnEpochStopsItsWorkCancelsItAndTheNextIterationIsTheNextEpoch() throws {
        let dataset = ScriptedDataset(count: 100)
        let loader = try DataLoader(dataset, LoaderConfiguration(batchSize: 10, workers: .threads(2), prefetch: 1))
        var first = loader.makeBatchIterator()
        _ = try first.next()
        var second = loader.makeBatchIterator()
        #expect(try first.next() == nil, "a newer iteration ends the older one")
        #expect(try second.next()?.epoch == 1)
    }

    @Test func unorderedDeliversEveryBatchOnce() throws {
        let dataset = ScriptedDataset(count: 57)
        let loader = try DataLoader(
            dataset, LoaderConfiguration(batchSize: 4, workers: .threads(3), delivery: .unordered))
        var seen: [Int] = []
        var batches = loader.makeBatchIterator()
        while let batch = try batches.next() { seen += batch.samples }
        #expect(seen.sorted() == Array(0..<57))
        #expect(loader.state == LoaderState(seed: 0, epoch: 1, nextBatch: 0))
    }

    @Test func distributedSamplerAndDropLast() throws {
        let dataset = ArrayDataset(Array(0..<10))
        let sampler = Sampler.distributed(rank: 1, worldSize: 3, shuffle: false, remainder: .drop)
        let loader = try DataLoader(dataset, LoaderConfiguration(batchSize: 2, sampler: sampler, dropLast: true, workers: .threads(2)))
        var batches = loader.makeBatchIterator()
        var samples: [[Int]] = []
        while let batch = try batches.next() { samples.append(batch.samples) }
        #expect(samples == [[1, 4]], "rank 1 gets 1, 4, 7; the last, short batch is dropped")
    }

    @Test func badConfigurationIsAnErrorAtConstruction() {
        let dataset = ArrayDataset(Array(0..<10))
        let bad: [LoaderConfiguration] = [
            LoaderConfiguration(batchSize: 0),
            LoaderConfiguration(batchSize: 2, workers: .threads(0)),
            LoaderConfiguration(batchSize: 2, prefetch: 0),
            LoaderConfiguration(batchSize: 2, batchTimeout: .zero),
            LoaderConfiguration(batchSize: 2, sampler: .distributed(rank: 2, worldSize: 2, shuffle: false, remainder: .pad)),
            LoaderConfiguration(batchSize: 2, sampler: .indices([3, 10])),
        ]
        for configuration in bad {
            #expect(throws: ConveyorError.self, "\(configuration)") { try DataLoader(dataset, configuration) }
        }
        #expect {
            try DataLoader(dataset, LoaderConfiguration(batchSize: 2, workers: .processes(2)))
        } throws: { error in
            // Worker processes must make the dataset themselves: an array of closures' results cannot cross.
            guard case let .invalidArgument(message)? = error as? ConveyorError else { return false }
            return message.contains("DatasetDescription")
        }
        #expect(throws: ConveyorError.self) {
            try DataLoader(dataset, LoaderConfiguration(batchSize: 2), resumingFrom: LoaderState(seed: 0, epoch: 0, nextBatch: 6))
        }
    }

    @Test func statsCountEachEpoch() throws {
        let dataset = ScriptedDataset(count: 10)
        let loader = try DataLoader(dataset, LoaderConfiguration(batchSize: 4, workers: .threads(2)))
        for _ in 0..<2 {
            for result in loader.results { _ = try result.get() }
        }
        let history = loader.epochHistory
        #expect(history.map(\.epoch) == [0, 1])
        #expect(history.allSatisfy { $0.batches == 3 && $0.samples == 10 })
        #expect(history[0].workerBusyShare.count == 2)
        #expect(history[0].dataStall <= history[0].elapsed)
        #expect(loader.stats.epoch == 1)
    }
}

/// Records which threads made samples.
final class ThreadRecorder: Sendable {
    private let threads = Locked<Set<UInt>>([])

    func record() {
        let id = UInt(bitPattern: Int(pthread_self()))
        threads.withLock { _ = $0.insert(id) }
    }

    var count: Int { threads.current.count }
}

@Suite struct DataLoaderLifecycleTests {
    struct ThreadNoting: Dataset {
        let recorder: ThreadRecorder
        var count: Int { 24 }
        func sample(at index: Int, context: SampleContext) throws -> UInt64? {
            recorder.record()
            return context.workerSeed
        }
        func sample(at index: Int) throws -> UInt64? { nil }
    }

    @Test func workersStartOnceAndServeEveryEpoch() throws {
        let recorder = ThreadRecorder()
        let loader = try DataLoader(ThreadNoting(recorder: recorder), LoaderConfiguration(batchSize: 4, workers: .threads(2)))
        var seeds: Set<UInt64?> = []
        for _ in 0..<3 {
            for result in loader.results { seeds.formUnion(try result.get().samples) }
        }
        #expect(recorder.count == 2, "the same two threads made every epoch's samples")
        #expect(seeds.count == 6, "a worker seed per (epoch, worker)")
        #expect(!seeds.contains(nil))
    }

    @Test func asyncIterationThrowsTheFailureAtItsPlace() async throws {
        let loader = try DataLoader(ScriptedDataset(count: 30, failAt: 9), LoaderConfiguration(batchSize: 2, workers: .threads(2)))
        var delivered: [Int] = []
        await #expect(throws: ConveyorError.sourceFailed(index: 9, worker: 0, message: "the disk said no")) {
            for try await batch in loader { delivered.append(batch.index) }
        }
        #expect(delivered == [0, 1, 2, 3])
    }

    @Test func unorderedDeliveryStillReportsAFailure() throws {
        let loader = try DataLoader(
            ScriptedDataset(count: 30, failAt: 17), LoaderConfiguration(batchSize: 2, workers: .threads(3), delivery: .unordered))
        var batches = loader.makeBatchIterator()
        let error = #expect(throws: ConveyorError.self) { while try batches.next() != nil {} }
        guard case let .sourceFailed(index, worker, _)? = error else {
            Issue.record("expected sourceFailed, got \(String(describing: error))")
            return
        }
        #expect(index == 17)
        #expect(worker == 8 % 3)
        #expect(try batches.next() == nil)
    }

    @Test func collatedLoaderOverANumpyFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = NumpyDatasetTests.npy(
            header: "{'descr': '<i4', 'fortran_order': False, 'shape': (5, 2), }",
            data: (0..<10).flatMap { value in withUnsafeBytes(of: Int32(value).littleEndian) { Array($0) } })
        try directory.write(bytes, to: "x.npy")
        let dataset = try NumpyDataset(path: directory.path + "/x.npy", field: "x")
        let loader = try DataLoader(collating: dataset, LoaderConfiguration(batchSize: 2, workers: .threads(2)))
        var values: [[Int32]] = []
        var batches = loader.makeBatchIterator()
        while let batch = try batches.next() { values.append(try batch["x"]!.scalars(as: Int32.self)) }
        #expect(values == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    }
}

@Suite struct DataLoaderEdgeTests {
    @Test func anEmptyDatasetGivesEmptyEpochsThatStillAdvance() throws {
        let loader = try DataLoader(ArrayDataset([Int]()), LoaderConfiguration(batchSize: 3, workers: .threads(2)))
        for _ in 0..<2 {
            var batches = loader.makeBatchIterator()
            #expect(try batches.next() == nil)
        }
        #expect(loader.state == LoaderState(seed: 0, epoch: 2, nextBatch: 0))
    }

    @Test func resumingAtAnEpochsEndStartsTheNextEpoch() throws {
        let dataset = ArrayDataset(Array(0..<6))
        let loader = try DataLoader(
            dataset, LoaderConfiguration(batchSize: 3), resumingFrom: LoaderState(seed: 0, epoch: 4, nextBatch: 2))
        var batches = loader.makeBatchIterator()
        #expect(try batches.next() == nil, "epoch 4 has nothing left")
        var next = loader.makeBatchIterator()
        let batch = try #require(try next.next())
        #expect(batch.epoch == 5 && batch.index == 0)
    }

    @Test func directoryLinksToDirectoriesAreNotFollowed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write([1], to: "sub/a")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/sub/loop", withDestinationPath: directory.path)
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/b", withDestinationPath: directory.path + "/sub/a")
        let dataset = try DirectoryDataset(path: directory.path)
        #expect(dataset.relativePaths == ["b", "sub/a"])
    }
}

import Foundation
import Testing
@testable import Conveyor

@Suite struct TarShardsTests {
    /// Shards written by Python's tarfile, read inline and by 1–3 threads:
    /// contents checked, every sample once per epoch, the same batches for
    /// the same worker count, and the shards shuffled per epoch.
    @Test func tarShardsThroughTheLoaderOnThreads() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let paths = try StreamFixtures.writeShards(in: directory, sizes: [9, 14, 0, 6])
        let shards = try TarShards(paths: paths)
        #expect(shards.shardSizes == [9, 14, 0, 6])
        #expect(shards.schema.fields.map(\.name) == ["__key__", "bin", "cls"])
        for workers in [WorkerBackend.inline, .threads(1), .threads(2), .threads(3)] {
            let loader = try DataLoader(
                streaming: StreamDataset(shards),
                LoaderConfiguration(batchSize: 4, sampler: .shuffled, workers: workers, seed: 3), shuffleBuffer: 5)
            defer { loader.stop() }
            let first = try StreamFixtures.epoch(loader)
            let second = try StreamFixtures.epoch(loader)
            #expect(first.flatMap { $0 }.sorted() == Array(0..<29), "\(workers)")
            #expect(second.flatMap { $0 }.sorted() == Array(0..<29), "\(workers)")
            #expect(first != second)
            let again = try DataLoader(
                streaming: StreamDataset(shards),
                LoaderConfiguration(batchSize: 4, sampler: .shuffled, workers: workers, seed: 3), shuffleBuffer: 5)
            defer { again.stop() }
            #expect(try StreamFixtures.epoch(again) == first)
        }
    }

    /// The same batches for `.inline` and one thread (one reader each).
    @Test func inlineIsOneWorker() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let paths = try StreamFixtures.writeShards(in: directory, sizes: [5, 5])
        func batches(_ workers: WorkerBackend) throws -> [[Int]] {
            let loader = try DataLoader(
                streaming: StreamDataset(try TarShards(paths: paths)),
                LoaderConfiguration(batchSize: 3, sampler: .shuffled, workers: workers, seed: 9), shuffleBuffer: 4)
            defer { loader.stop() }
            return try StreamFixtures.epoch(loader)
        }
        #expect(try batches(.inline) == batches(.threads(1)))
    }

    /// A state saved mid-epoch resumes with exactly the rest of the epoch,
    /// shuffle buffer included (the buffer's contents are recomputed).
    @Test func resumeMidEpochGivesTheRest() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let paths = try StreamFixtures.writeShards(in: directory, sizes: [11, 8, 13])
        let configuration = LoaderConfiguration(batchSize: 3, sampler: .shuffled, workers: .threads(2), seed: 21)
        let whole = try DataLoader(streaming: StreamDataset(try TarShards(paths: paths)), configuration, shuffleBuffer: 6)
        defer { whole.stop() }
        let expected = try StreamFixtures.epoch(whole)
        for cut in [1, 4, 7] {
            let partial = try DataLoader(streaming: StreamDataset(try TarShards(paths: paths)), configuration, shuffleBuffer: 6)
            defer { partial.stop() }
            var iterator = partial.makeBatchIterator()
            for _ in 0..<cut { _ = try iterator.next() }
            let state = partial.state
            let resumed = try DataLoader(
                streaming: StreamDataset(try TarShards(paths: paths)), configuration, shuffleBuffer: 6, resumingFrom: state)
            defer { resumed.stop() }
            #expect(try StreamFixtures.epoch(resumed) == Array(expected[cut...]))
            #expect(state.streamWorkers == 2)
            #expect(throws: ConveyorError.self) {
                try DataLoader(streaming: StreamDataset(try TarShards(paths: paths)),
                               LoaderConfiguration(batchSize: 3, sampler: .shuffled, workers: .threads(3), seed: 21),
                               shuffleBuffer: 6, resumingFrom: state)
            }
        }
    }

    /// A damaged header, a truncated shard and a missing shard each throw
    /// `.invalidFile` naming the shard.
    @Test func badShardsAreClearErrors() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let paths = try StreamFixtures.writeShards(in: directory, sizes: [4, 4])
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: paths[1])))
        var bytes = original
        let damaged = directory.path + "/damaged.tar"
        bytes[512 * 2 + 10] ^= 0xFF  // in the first file header (after its pax header): its checksum no longer matches
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let truncated = directory.path + "/truncated.tar"
        try Data(original.prefix(512 * 3 + 100)).write(to: URL(fileURLWithPath: truncated))
        for (path, words) in [(damaged, "checksum"), (truncated, "truncated"), (directory.path + "/missing.tar", "cannot be opened")] {
            let error = #expect(throws: ConveyorError.self) { try TarShards(paths: [paths[0], path]) }
            guard case let .invalidFile(failed, problem)? = error else {
                Issue.record("\(path): \(String(describing: error))")
                continue
            }
            #expect(failed == path)
            #expect(problem.contains(words), "\(problem)")
        }
    }

    /// What `TarFormat` writes, Python's tarfile reads (names over 100
    /// bytes through a pax header), and the scanner reads back.
    @Test func writtenShardsReadInPythonAndBack() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let longKey = String(repeating: "k", count: 130) + "/x"
        var archive: [UInt8] = []
        for (name, data) in [("a.txt", Array("hello".utf8)), (longKey + ".bin", [1, 2, 3]), (longKey + ".cls", Array("7".utf8))] {
            archive += TarFormat.headers(name: name, size: data.count) + data
            archive += [UInt8](repeating: 0, count: TarFormat.padded(data.count) - data.count)
        }
        archive += TarFormat.endOfArchive
        let path = directory.path + "/written.tar"
        try Data(archive).write(to: URL(fileURLWithPath: path))
        let script = """
            import tarfile
            t = tarfile.open('\(path)')
            names = [(m.name, t.extractfile(m).read()) for m in t.getmembers()]
            assert names == [('a.txt', b'hello'), ('\(longKey).bin', bytes([1, 2, 3])), ('\(longKey).cls', b'7')], names
            """
        #expect(try runPython(script) == 0)
        let shards = try TarShards(paths: [path])
        #expect(shards.shardSizes == [2])
        var reader = try shards.openShard(0, at: 1)
        let sample = try reader.read()
        #expect(try sample["bin"]!.scalars(as: UInt8.self) == [1, 2, 3])
        #expect(try sample["__key__"]!.scalars(as: UInt8.self) == Array(longKey.utf8))
        #expect(try sample["txt"]!.scalars(as: UInt8.self) == [])
    }
}

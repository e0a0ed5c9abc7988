import Foundation
import Testing
@testable import Conveyor

extension SharedRingTests {
    /// `conveyor pack`: shards that Python's webdataset reads, and that
    /// `TarShards` reads back through worker processes.
    @Suite struct PackCommandTests {
        /// images.npy + labels.npy → shards → the same rows, in Python and in Conveyor.
        @Test func numpyFilesPackIntoShardsBothSidesRead() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let (images, labels) = (directory.path + "/images.npy", directory.path + "/labels.npy")
            try #require(try runPython("""
                import numpy as np
                np.save('\(images)', (np.arange(20 * 12) % 251).astype(np.uint8).reshape(20, 3, 4))
                np.save('\(labels)', np.arange(20, dtype=np.int64) * 3)
                """) == 0)
            let out = directory.path + "/shards"
            let run = try CLIRun(["pack", images, labels, "--output", out, "--samples-per-shard", "6"])
            #expect(run.status == .exited(0), "\(run.stderr)")
            let paths = (0..<4).map { out + "/shard-" + String(format: "%06d", $0) + ".tar" }
            #expect(paths.allSatisfy { FileManager.default.fileExists(atPath: $0) })
            // Python: tarfile always; webdataset's own reader and decoder when installed.
            #expect(try runPython("""
                import tarfile, io, numpy as np
                paths = [\(paths.map { "'\($0)'" }.joined(separator: ", "))]
                images = np.load('\(images)'); labels = np.load('\(labels)')
                seen = 0
                for path in paths:
                    for m in tarfile.open(path):
                        key, ext = m.name.split('.', 1)
                        a = np.load(io.BytesIO(tarfile.open(path).extractfile(m).read()))
                        assert (a == (images if ext == 'images.npy' else labels)[int(key)]).all(), m.name
                        seen += 1
                assert seen == 40, seen
                try:
                    import webdataset as wds
                except ImportError:
                    raise SystemExit(0)
                samples = list(wds.WebDataset(paths, shardshuffle=False).decode())
                assert [int(s['__key__']) for s in samples] == list(range(20))
                assert all((s['images.npy'] == images[int(s['__key__'])]).all() for s in samples)
                assert all(s['labels.npy'] == labels[int(s['__key__'])] for s in samples)
                """) == 0)
            let loader = try DataLoader(
                streaming: TarShards.Description(paths: paths),
                LoaderConfiguration(batchSize: 4, sampler: .shuffled, workers: .processes(2), seed: 1,
                                    batchTimeout: .seconds(60), workerExecutable: SharedRingTests.StreamProcessTests.helperPath))
            defer { loader.stop() }
            var seen: [Int64] = []
            var batches = loader.makeBatchIterator()
            while let batch = try batches.next() {
                #expect(batch["images.npy"]!.shape == [batch.count, 3, 4])
                let labels = try batch["labels.npy"]!.scalars(as: Int64.self)
                let pixels = try batch["images.npy"]!.scalars(as: UInt8.self)
                for (position, label) in labels.enumerated() {
                    let row = Int(label) / 3
                    #expect(Array(pixels[(position * 12)..<(position * 12 + 12)]) == (0..<12).map { UInt8((row * 12 + $0) % 251) })
                }
                seen += labels
            }
            #expect(seen.sorted() == (0..<20).map { Int64($0 * 3) })
        }

        /// A directory: files sharing a key are one sample, in key order.
        @Test func aDirectoryPacksByKey() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            for (name, text) in [("cat/001.jpg", "c1"), ("cat/001.cls", "0"), ("dog/007.jpg", "d7"), ("dog/007.cls", "1"), ("README", "x")] {
                try directory.write(Array(text.utf8), to: "in/" + name)
            }
            let run = try CLIRun(["pack", directory.path + "/in", "-o", directory.path + "/out"])
            #expect(run.status == .exited(0), "\(run.stderr)")
            let shards = try TarShards(paths: [directory.path + "/out/shard-000000.tar"])
            #expect(shards.shardSizes == [2])
            var reader = try shards.openShard(0, at: 0)
            let first = try reader.read()
            #expect(try first["__key__"]!.scalars(as: UInt8.self) == Array("cat/001".utf8))
            #expect(try first["jpg"]!.scalars(as: UInt8.self) == Array("c1".utf8))
            let second = try reader.read()
            #expect(try second["cls"]!.scalars(as: UInt8.self) == Array("1".utf8))
        }
    }
}

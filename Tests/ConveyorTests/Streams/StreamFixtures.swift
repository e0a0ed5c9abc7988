import Foundation
import Testing
@testable import Conveyor

/// Tar shards written by Python's `tarfile` (its default pax format), as
/// WebDataset writes them: sample `g` (numbered across shards) has the key
/// `g%06d` (with a long directory prefix in shard 1, so pax headers carry
/// the names), a `.bin` file of `10 + g % 50` bytes `(7g + j) mod 256`, and
/// a `.cls` file holding `g` as text.
enum StreamFixtures {
    static func writeShards(in directory: TemporaryDirectory, sizes: [Int]) throws -> [String] {
        let paths = sizes.indices.map { directory.path + "/shard-\($0).tar" }
        let script = """
            import io, tarfile
            paths = [\(paths.map { "'\($0)'" }.joined(separator: ", "))]; sizes = \(sizes)
            g = 0
            for shard, (path, size) in enumerate(zip(paths, sizes)):
                with tarfile.open(path, 'w') as tar:
                    for _ in range(size):
                        prefix = ('d' * 120 + '/') if shard == 1 else ''
                        for ext, data in (('bin', bytes((7 * g + j) % 256 for j in range(10 + g % 50))), ('cls', str(g).encode())):
                            info = tarfile.TarInfo(f'{prefix}g{g:06d}.{ext}'); info.size = len(data)
                            tar.addfile(info, io.BytesIO(data))
                        g += 1
            """
        try #require(try runPython(script) == 0)
        return paths
    }

    /// The sample number a batch's sample `position` holds, after checking its files.
    static func check(_ batch: TensorBatch, _ position: Int) throws -> Int {
        let keyRows = batch.rows(of: TarShards.keyField)![position]
        let keyBytes = try batch[TarShards.keyField]!.scalars(as: UInt8.self)
        let keyWidth = keyBytes.count / batch.count
        let key = String(decoding: keyBytes[(position * keyWidth)..<(position * keyWidth + keyRows)], as: UTF8.self)
        let number = try #require(Int(key.split(separator: "g").last!))
        let binRows = batch.rows(of: "bin")![position]
        let bin = try batch["bin"]!.scalars(as: UInt8.self)
        let binWidth = bin.count / batch.count
        #expect(binRows == 10 + number % 50)
        #expect(Array(bin[(position * binWidth)..<(position * binWidth + binRows)]) == (0..<binRows).map { UInt8((7 * number + $0) % 256) })
        let cls = try batch["cls"]!.scalars(as: UInt8.self)
        let clsWidth = cls.count / batch.count
        let text = String(decoding: cls[(position * clsWidth)..<(position * clsWidth + batch.rows(of: "cls")![position])], as: UTF8.self)
        #expect(text == "\(number)")
        #expect(batch.indices[position] == number)
        return number
    }

    /// Every batch of one epoch as the sample numbers it holds, contents checked.
    static func epoch(_ loader: DataLoader<TensorBatch>) throws -> [[Int]] {
        try epoch(loader, check: check)
    }

    /// Every batch of one epoch as what `check` makes of each sample.
    static func epoch(_ loader: DataLoader<TensorBatch>, check: (TensorBatch, Int) throws -> Int) throws -> [[Int]] {
        var batches = loader.makeBatchIterator()
        var out: [[Int]] = []
        while let batch = try batches.next() {
            out.append(try (0..<batch.count).map { try check(batch, $0) })
        }
        return out
    }
}

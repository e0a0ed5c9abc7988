import Foundation
import Testing
@testable import Conveyor

/// An SQLite database written by Python's sqlite3: table `samples` with
/// rows `i` in 0..<count under id `3i + 5` (gaps, so keys are not
/// positions): `image` a BLOB of `16 + i % 17` bytes `(13i + j) mod 256`,
/// `label` = i, `weight` = i / 2, `split` 'train' for even i.
enum SQLiteFixtures {
    static func write(in directory: TemporaryDirectory, count: Int) throws -> String {
        let path = directory.path + "/samples.sqlite"
        try #require(try runPython("""
            import sqlite3
            con = sqlite3.connect('\(path)')
            con.execute('CREATE TABLE samples (id INTEGER PRIMARY KEY, image BLOB, label INTEGER, weight REAL, split TEXT)')
            con.executemany('INSERT INTO samples VALUES (?, ?, ?, ?, ?)',
                [(3 * i + 5, bytes((13 * i + j) % 256 for j in range(16 + i % 17)), i, i / 2, 'train' if i % 2 == 0 else 'test')
                 for i in range(\(count))])
            con.commit()
            """) == 0)
        return path
    }

    static let columns = [SQLiteColumn("image", .bytes(maxCount: 32)), SQLiteColumn("label", .int64), SQLiteColumn("weight", .float64)]

    /// The row number batch sample `position` holds, after checking its columns.
    static func check(_ batch: TensorBatch, _ position: Int) throws -> Int {
        let label = Int(try batch["label"]!.scalars(as: Int64.self)[position])
        #expect(try batch["weight"]!.scalars(as: Double.self)[position] == Double(label) / 2)
        let rows = batch.rows(of: "image")![position]
        #expect(rows == 16 + label % 17)
        let image = try batch["image"]!.scalars(as: UInt8.self)
        #expect(Array(image[(position * 32)..<(position * 32 + rows)]) == (0..<rows).map { UInt8((13 * label + $0) % 256) })
        return label
    }

    /// Every batch of one epoch as the row numbers it holds, contents checked.
    static func epoch(_ loader: DataLoader<TensorBatch>) throws -> [[Int]] {
        try StreamFixtures.epoch(loader, check: check)
    }
}

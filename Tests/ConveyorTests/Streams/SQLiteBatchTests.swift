import Foundation
import Testing
@testable import Conveyor

extension SharedRingTests {
    /// How `SQLiteDataset` keeps its keys and writes batches: a run for
    /// rowids without gaps, every storage class a field takes copied as it
    /// is, and values that do not fit a clear error naming file and column.
    @Suite struct SQLiteBatchTests {
        /// A table written by Python's sqlite3 with `script` run after `con = sqlite3.connect(path)`.
        static func database(in directory: TemporaryDirectory, _ script: String) throws -> String {
            let path = directory.path + "/rows.sqlite"
            try #require(try runPython("import sqlite3\ncon = sqlite3.connect('\(path)')\n" + script + "\ncon.commit()") == 0)
            return path
        }

        /// Rowids 10…49 (as the INTEGER PRIMARY KEY or the bare rowid) are a
        /// run; rowids with a gap, and a key column that is not the rowid,
        /// are listed; either way sample `i` is the row with the `i`-th key.
        @Test func keysWithoutGapsAreARun() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = try Self.database(in: directory, """
                con.execute('CREATE TABLE rows (id INTEGER PRIMARY KEY, label INTEGER)')
                con.executemany('INSERT INTO rows VALUES (?, ?)', [(i, 100 - i) for i in range(10, 50)])
                con.execute('CREATE TABLE plain (label INTEGER)')
                con.executemany('INSERT INTO plain VALUES (?)', [(i,) for i in range(30)])
                con.execute('CREATE TABLE empty (id INTEGER PRIMARY KEY, label INTEGER)')
                """)
            let label = [SQLiteColumn("label", .int64)]
            #expect(try SQLiteTable(SQLiteSource(path: path, table: "rows", key: "id", columns: label)).keys == .run(first: 10, count: 40))
            #expect(try SQLiteTable(SQLiteSource(path: path, table: "rows", key: "ID", columns: label)).keys == .run(first: 10, count: 40))
            #expect(try SQLiteTable(SQLiteSource(path: path, table: "rows", columns: label)).keys == .run(first: 10, count: 40))
            #expect(try SQLiteTable(SQLiteSource(path: path, table: "plain", columns: label)).keys == .run(first: 1, count: 30))
            #expect(try SQLiteTable(SQLiteSource(path: path, table: "empty", columns: label)).keys == .run(first: 0, count: 0))
            // Not the rowid: listed, though its values have no gaps either.
            let byLabel = try SQLiteTable(SQLiteSource(path: path, table: "rows", key: "label", columns: label)).keys
            #expect(byLabel == .listed((51...90).map(Int64.init)))
            let query = SQLiteSource(path: path, relation: .query("SELECT id, label FROM rows"), key: "id", columns: label)
            #expect(try SQLiteTable(query).keys == .listed((10..<50).map(Int64.init)))

            let dataset = try SQLiteDataset(SQLiteSource(path: path, table: "rows", key: "id", columns: label))
            #expect(dataset.count == 40)
            #expect(try dataset.sample(at: 0)["label"]!.scalars(as: Int64.self) == [90])
            let loader = try DataLoader(collating: dataset, LoaderConfiguration(batchSize: 7, sampler: .shuffled, workers: .inline, seed: 2))
            defer { loader.stop() }
            var seen: [Int64] = []
            var batches = loader.makeBatchIterator()
            while let batch = try batches.next() { seen += try batch["label"]!.scalars(as: Int64.self) }
            #expect(seen.sorted() == (51...90).map(Int64.init))

            _ = try Self.database(in: directory, "con.execute('DELETE FROM rows WHERE id = 20')")
            let gap = try SQLiteTable(SQLiteSource(path: path, table: "rows", key: "id", columns: label)).keys
            #expect(gap == .listed((10..<50).filter { $0 != 20 }.map(Int64.init)))
        }

        /// What each field takes, in every storage class SQLite may hold it
        /// in: bytes from a BLOB, a TEXT, an empty BLOB or NULL (0 rows);
        /// a float from a REAL or an INTEGER. The same through a batch and
        /// through `sample(at:)`.
        @Test func everyStorageClassAFieldTakes() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = try Self.database(in: directory, """
                con.execute('CREATE TABLE rows (id INTEGER PRIMARY KEY, data, weight)')
                con.executemany('INSERT INTO rows VALUES (?, ?, ?)', [
                    (1, b'\\x01\\x02\\x03\\x04', 0.5), (2, 'abcd', 7), (3, b'', -1.25), (4, None, 3), (5, b'\\xff' * 8, 2.0)])
                """)
            let dataset = try SQLiteDataset(SQLiteSource(
                path: path, table: "rows", columns: [SQLiteColumn("data", .bytes(maxCount: 8)), SQLiteColumn("weight", .float64)]))
            let expected: [([UInt8], Double)] = [
                ([1, 2, 3, 4], 0.5), (Array("abcd".utf8), 7), ([], -1.25), ([], 3), ([UInt8](repeating: 0xff, count: 8), 2)]
            let loader = try DataLoader(collating: dataset, LoaderConfiguration(batchSize: 5, sampler: .sequential, workers: .inline))
            defer { loader.stop() }
            var batches = loader.makeBatchIterator()
            let batch = try #require(try batches.next())
            let data = try batch["data"]!.scalars(as: UInt8.self)
            let weights = try batch["weight"]!.scalars(as: Double.self)
            for (position, (bytes, weight)) in expected.enumerated() {
                #expect(batch.rows(of: "data")![position] == bytes.count)
                #expect(Array(data[(position * 8)..<(position * 8 + bytes.count)]) == bytes)
                #expect(data[(position * 8 + bytes.count)..<(position * 8 + 8)].allSatisfy { $0 == 0 })
                #expect(weights[position] == weight)
                let sample = try dataset.sample(at: position)
                #expect(try sample["data"]!.scalars(as: UInt8.self) == bytes)
                #expect(try sample["weight"]!.scalars(as: Double.self) == [weight])
            }
        }

        /// A BLOB longer than its field and an INTEGER column holding TEXT:
        /// the batch fails with an error naming the file, the column and
        /// the row's key.
        @Test func valuesThatDoNotFitAreClearErrors() throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let path = try Self.database(in: directory, """
                con.execute('CREATE TABLE long (id INTEGER PRIMARY KEY, data BLOB, label)')
                con.executemany('INSERT INTO long VALUES (?, ?, ?)', [(1, b'ab', 1), (2, b'x' * 9, 2), (3, b'cd', 3)])
                con.execute('CREATE TABLE text (id INTEGER PRIMARY KEY, data BLOB, label)')
                con.executemany('INSERT INTO text VALUES (?, ?, ?)', [(1, b'ab', 1), (2, b'cd', 'two'), (3, b'ef', 3)])
                """)
            let columns = [SQLiteColumn("data", .bytes(maxCount: 8)), SQLiteColumn("label", .int64)]
            for (table, column) in [("long", "data"), ("text", "label")] {
                let dataset = try SQLiteDataset(SQLiteSource(path: path, table: table, columns: columns))
                let loader = try DataLoader(collating: dataset, LoaderConfiguration(batchSize: 3, workers: .inline))
                defer { loader.stop() }
                var batches = loader.makeBatchIterator()
                let error = #expect(throws: ConveyorError.self) { _ = try batches.next() }
                let message = String(describing: error)
                #expect(message.contains(path) && message.contains("'\(column)'") && message.contains("key 2"), "\(message)")
            }
        }
    }
}

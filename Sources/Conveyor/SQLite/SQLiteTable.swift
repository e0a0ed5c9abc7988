import FoundationEssentials
import GRDB

/// An opened `SQLiteSource`: every key in order (loaded once), and the
/// reads both the random-access dataset and the shard readers do, each
/// through a read-only connection of the caller's.
struct SQLiteTable: Sendable {
    let source: SQLiteSource
    let schema: Schema
    /// The key of each sample, ascending.
    let keys: SQLiteKeys
    private let selectSQL: String
    private let keySQL: String
    /// How each column is copied on the batch path, in order.
    private let layouts: [SQLiteFieldLayout]

    /// Opens the database, checks the columns and loads the keys.
    init(_ source: SQLiteSource) throws(ConveyorError) {
        guard !source.columns.isEmpty else {
            throw .invalidArgument("an SQLite dataset needs columns; name the columns that become fields")
        }
        if case .query = source.relation, source.key == nil {
            throw .invalidArgument("a query has no rowid: pass the integer column of its result that identifies rows as key")
        }
        self.source = source
        self.schema = try source.schema
        layouts = zip(source.columns, schema.fields).map { SQLiteFieldLayout($0, field: $1) }
        keySQL = source.key.map(SQLiteColumn.quoted) ?? "rowid"
        selectSQL = "SELECT \(keySQL), " + source.columns.map { SQLiteColumn.quoted($0.name) }.joined(separator: ", ")
            + " FROM \(source.relation.sql)"
        let connection = try SQLiteTable.open(source)
        let keySQL = keySQL
        keys = try SQLiteTable.reading(source.path, on: connection) { database in
            try SQLiteKeys.load(of: source.relation, key: source.key, keySQL: keySQL, in: database)
        }
        _ = try rows(from: keys.first ?? 0, limit: 1, on: connection)  // every column exists
    }

    /// A new read-only connection.
    func connect() throws(ConveyorError) -> DatabaseQueue {
        try SQLiteTable.open(source)
    }

    /// One fetched row, kept: its key and its columns' values.
    struct FetchedRow: Sendable, SQLiteColumnValues {
        var key: Int64
        var values: [DatabaseValue]

        init(_ row: Row) {
            key = row[0]
            values = Array(row.databaseValues.dropFirst())
        }

        func value(ofColumn column: Int) -> DatabaseValue { values[column] }

        func withBytes<T>(ofColumn column: Int, _ body: (UnsafeRawBufferPointer?) throws -> T) throws -> T {
            switch values[column].storage {
            case .null: return try body(nil)
            case let .blob(data): return try data.withUnsafeBytes { try body($0) }
            case let .string(text): return try Array(text.utf8).withUnsafeBytes { try body($0) }
            case .int64, .double: throw ConveyorError.invalidArgument("it holds a number, not bytes")
            }
        }
    }

    /// Writes the rows of `keys` into `batch`, the row of `keys[p]` as
    /// sample `p`: one `IN` query (a statement the connection keeps per batch
    /// size), each well-typed column copied from SQLite's memory straight into
    /// its place in the batch (anything else takes `write(_:key:into:)`, which
    /// converts it or says why it does not fit). Returns the positions whose
    /// key no row has.
    func write(keys: [Int64], into batch: inout BatchWriter, on connection: SQLiteConnection) throws(ConveyorError) -> [Int] {
        guard !keys.isEmpty else { return [] }
        // Rows come in key order: walk the batch's positions sorted by key alongside them.
        let byKey = keys.indices.sorted { keys[$0] < keys[$1] }
        var missing: [Int] = []
        var next = 0
        try SQLiteTable.reading(source.path, on: connection.queue) { database in
            let statement = try connection.batchStatement(keys: keys.count, in: database) { count in
                selectSQL + " WHERE \(keySQL) IN (" + String(repeating: "?,", count: count - 1) + "?) ORDER BY \(keySQL)"
            }
            try SQLiteRawRows.forEachRow(of: statement, binding: keys, in: database) { row in
                let key = row.key
                while next < byKey.count, keys[byKey[next]] < key {
                    missing.append(byKey[next])
                    next += 1
                }
                while next < byKey.count, keys[byKey[next]] == key {
                    if try !copy(row, into: &batch, sample: byKey[next]) {
                        try batch.withSample(byKey[next]) { try write(row, key: key, into: &$0) }
                    }
                    next += 1
                }
            }
        }
        return missing + byKey[next...]
    }

    /// Copies each column of `row` into sample `position` of `batch` as its
    /// layout says; false (and the sample's fields partly written) when a
    /// value is not what its field takes.
    private func copy(_ row: SQLiteRawRow, into batch: inout BatchWriter, sample position: Int) throws(ConveyorError) -> Bool {
        for (field, layout) in layouts.enumerated() {
            let size = batch.sampleBytes(of: field)
            let rows = batch.withUnsafeMutableBytes(of: field) { bytes in
                row.copy(column: field, as: layout, into: UnsafeMutableRawBufferPointer(rebasing: bytes[(position * size)..<((position + 1) * size)]))
            }
            guard let rows else { return false }
            if rows != layout.maxRows { try batch.setRows(rows, of: field, sample: position) }
        }
        return true
    }

    /// Up to `limit` rows from key `first` on, in key order.
    func rows(from first: Int64, limit: Int, on connection: DatabaseQueue) throws(ConveyorError) -> [FetchedRow] {
        let sql = selectSQL + " WHERE \(keySQL) >= ? ORDER BY \(keySQL) LIMIT ?"
        return try SQLiteTable.reading(source.path, on: connection) { database in
            try Row.fetchAll(database, sql: sql, arguments: [first, limit]).map(FetchedRow.init)
        }
    }

    /// Writes `row`'s columns into `writer`.
    func write(_ row: some SQLiteColumnValues, key: Int64, into writer: inout SampleWriter) throws(ConveyorError) {
        for (field, column) in source.columns.enumerated() {
            if case .bytes = column.kind {
                try copy(row, field: field, key: key, into: &writer)
                continue
            }
            if case .tensor = column.kind {
                try copy(row, field: field, key: key, into: &writer)
                continue
            }
            let value = row.value(ofColumn: field)
            switch (column.kind, value.storage) {
            case let (.int64, .int64(number)):
                writer.withUnsafeMutableBytes(of: field) { $0.storeBytes(of: number.littleEndian, as: Int64.self) }
            case let (.float64, .double(number)):
                writer.withUnsafeMutableBytes(of: field) { $0.storeBytes(of: number, as: Float64.self) }
            case let (.float64, .int64(number)):
                writer.withUnsafeMutableBytes(of: field) { $0.storeBytes(of: Double(number), as: Float64.self) }
            default:
                throw .invalidFile(
                    path: source.path,
                    problem: "column '\(column.name)' of the row with key \(key) holds \(value), "
                        + "which is not \(column.kind); fix the row or declare the column's kind")
            }
        }
    }

    /// Copies a BLOB (or TEXT) column into a variable-rows field; NULL is 0 rows.
    private func copy(_ row: some SQLiteColumnValues, field: Int, key: Int64, into writer: inout SampleWriter) throws(ConveyorError) {
        let description = schema.fields[field]
        let path = source.path
        do {
            try row.withBytes(ofColumn: field) { bytes in
                guard let bytes else { return try writer.setRows(0, of: field) }
                guard bytes.count % description.bytesPerRow == 0, bytes.count / description.bytesPerRow <= description.maxRows else {
                    throw ConveyorError.invalidFile(
                        path: path,
                        problem: "column '\(description.name)' of the row with key \(key) holds \(bytes.count) bytes; "
                            + "the field \(description) takes whole rows of \(description.bytesPerRow) bytes, at most \(description.maxRows)")
                }
                if bytes.count > 0 { writer.withUnsafeMutableBytes(of: field) { $0.copyMemory(from: bytes) } }
                try writer.setRows(bytes.count / description.bytesPerRow, of: field)
            }
        } catch let error as ConveyorError {
            throw error
        } catch {
            throw .invalidFile(
                path: path, problem: "column '\(description.name)' of the row with key \(key) is not a BLOB or TEXT: \(error)")
        }
    }

    /// Opens a read-only connection to `source`'s database.
    private static func open(_ source: SQLiteSource) throws(ConveyorError) -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(TimeInterval(source.busyTimeoutMilliseconds) / 1000)
        configuration.label = "conveyor-sqlite"
        // Read pages through a mapping of the file (up to SQLite's own limit, 2 GiB by default) instead of a
        // pread per page: random reads of rows spend most of their time in the kernel's page lookup otherwise.
        // query_only once here, so that each read runs as the bare statement (see `reading`).
        configuration.prepareDatabase { database in
            try database.execute(sql: "PRAGMA mmap_size = 1099511627776; PRAGMA query_only = 1")
        }
        do {
            return try DatabaseQueue(path: source.path, configuration: configuration)
        } catch {
            throw conveyorError(error, path: source.path)
        }
    }

    /// Runs `body` on `connection`, its errors made `ConveyorError`s naming `path`.
    /// Every read here is one statement, which SQLite runs as its own read
    /// transaction (a consistent snapshot), on a connection opened read-only
    /// and `query_only`: so no GRDB `read`, whose savepoint and `query_only`
    /// toggles would run four more statements per batch.
    private static func reading<T>(
        _ path: String, on connection: DatabaseQueue, _ body: (Database) throws -> T
    ) throws(ConveyorError) -> T {
        do {
            return try connection.unsafeRead(body)
        } catch {
            throw conveyorError(error, path: path)
        }
    }

    /// What the user can act on, for an SQLite error on the database at `path`.
    static func conveyorError(_ error: any Error, path: String) -> ConveyorError {
        if let error = error as? ConveyorError { return error }
        guard let error = error as? DatabaseError else {
            return .invalidFile(path: path, problem: "reading it failed: \(error)")
        }
        let detail = error.message ?? "\(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return .unavailable(
                "the database \(path) is locked by another connection (\(detail)); wait for its writer to finish, "
                    + "raise busyTimeoutMilliseconds, or read a copy of the file")
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return .invalidFile(path: path, problem: "it is not an SQLite database or it is damaged (\(detail))")
        case .SQLITE_CANTOPEN:
            return .invalidFile(path: path, problem: "it cannot be opened (\(detail)); check the path")
        default:
            return .invalidArgument("reading the database \(path) failed: \(detail); check the table, query and columns")
        }
    }
}

/// A row's column values, the key left out: a row SQLite stands on
/// (`SQLiteRawRow`) or one kept (`FetchedRow`).
protocol SQLiteColumnValues {
    /// Column `column`'s value (numbers; copies bytes).
    func value(ofColumn column: Int) -> DatabaseValue
    /// Calls `body` with column `column`'s bytes (nil for NULL), valid during the call.
    func withBytes<T>(ofColumn column: Int, _ body: (UnsafeRawBufferPointer?) throws -> T) throws -> T
}

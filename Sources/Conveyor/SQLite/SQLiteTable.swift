import FoundationEssentials
import GRDB

/// An opened `SQLiteSource`: every key in order (loaded once), and the
/// reads both the random-access dataset and the shard readers do, each
/// through a read-only connection of the caller's.
struct SQLiteTable: Sendable {
    let source: SQLiteSource
    let schema: Schema
    /// The key of each sample, ascending.
    let keys: [Int64]
    private let selectSQL: String
    private let keySQL: String

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
        keySQL = source.key.map(SQLiteColumn.quoted) ?? "rowid"
        selectSQL = "SELECT \(keySQL), " + source.columns.map { SQLiteColumn.quoted($0.name) }.joined(separator: ", ")
            + " FROM \(source.relation.sql)"
        let connection = try SQLiteTable.open(source)
        let keySQL = keySQL
        keys = try SQLiteTable.reading(source.path, on: connection) { database in
            try Int64.fetchAll(database, sql: "SELECT \(keySQL) FROM \(source.relation.sql) ORDER BY \(keySQL)")
        }
        _ = try rows(keys: keys.prefix(1), on: connection)  // every column exists
    }

    /// A new read-only connection.
    func connect() throws(ConveyorError) -> DatabaseQueue {
        try SQLiteTable.open(source)
    }

    /// One fetched row: its key, then its columns' values.
    struct FetchedRow: Sendable {
        var key: Int64
        var values: [DatabaseValue]

        init(_ row: Row) {
            key = row[0]
            values = Array(row.databaseValues.dropFirst())
        }
    }

    /// The rows of `keys`, by key.
    func rows(keys: some Collection<Int64>, on connection: DatabaseQueue) throws(ConveyorError) -> [Int64: FetchedRow] {
        guard !keys.isEmpty else { return [:] }
        let sql = selectSQL + " WHERE \(keySQL) IN (" + repeatElement("?", count: keys.count).joined(separator: ",") + ")"
        let rows = try SQLiteTable.reading(source.path, on: connection) { database in
            try Row.fetchAll(database, sql: sql, arguments: StatementArguments(Array(keys))).map(FetchedRow.init)
        }
        return Dictionary(rows.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Up to `limit` rows from key `first` on, in key order.
    func rows(from first: Int64, limit: Int, on connection: DatabaseQueue) throws(ConveyorError) -> [FetchedRow] {
        let sql = selectSQL + " WHERE \(keySQL) >= ? ORDER BY \(keySQL) LIMIT ?"
        return try SQLiteTable.reading(source.path, on: connection) { database in
            try Row.fetchAll(database, sql: sql, arguments: [first, limit]).map(FetchedRow.init)
        }
    }

    /// Writes `row` (as `rows` fetched it: the key, then the columns) into `writer`.
    func write(_ row: FetchedRow, into writer: inout SampleWriter) throws(ConveyorError) {
        for (field, column) in source.columns.enumerated() {
            let value = row.values[field]
            switch (column.kind, value.storage) {
            case let (.int64, .int64(number)):
                writer.withBytes(ofField: field) { $0.storeBytes(of: number.littleEndian, as: Int64.self) }
            case let (.float64, .double(number)):
                writer.withBytes(ofField: field) { $0.storeBytes(of: number, as: Float64.self) }
            case let (.float64, .int64(number)):
                writer.withBytes(ofField: field) { $0.storeBytes(of: Double(number), as: Float64.self) }
            case let (.bytes, .blob(data)):
                try copy(data, into: &writer, field: field, row: row)
            case let (.bytes, .string(text)):
                try copy(Data(text.utf8), into: &writer, field: field, row: row)
            case let (.tensor, .blob(data)):
                try copy(data, into: &writer, field: field, row: row)
            case (.bytes, .null):
                try writer.setRows(0, ofField: field)
            default:
                throw .invalidFile(
                    path: source.path,
                    problem: "column '\(column.name)' of the row with key \(row.key) holds \(value), "
                        + "which is not \(column.kind); fix the row or declare the column's kind")
            }
        }
    }

    /// Copies a BLOB into a variable-rows field.
    private func copy(_ data: Data, into writer: inout SampleWriter, field: Int, row: FetchedRow) throws(ConveyorError) {
        let description = schema.fields[field]
        guard data.count % description.bytesPerRow == 0, data.count / description.bytesPerRow <= description.maxRows else {
            throw .invalidFile(
                path: source.path,
                problem: "column '\(description.name)' of the row with key \(row.key) holds \(data.count) bytes; "
                    + "the field \(description) takes whole rows of \(description.bytesPerRow) bytes, at most \(description.maxRows)")
        }
        writer.withBytes(ofField: field) { destination in
            data.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
        try writer.setRows(data.count / description.bytesPerRow, ofField: field)
    }

    /// Opens a read-only connection to `source`'s database.
    private static func open(_ source: SQLiteSource) throws(ConveyorError) -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(TimeInterval(source.busyTimeoutMilliseconds) / 1000)
        configuration.label = "conveyor-sqlite"
        do {
            return try DatabaseQueue(path: source.path, configuration: configuration)
        } catch {
            throw conveyorError(error, path: source.path)
        }
    }

    /// Runs `body` in a read of `connection`, its errors made `ConveyorError`s naming `path`.
    private static func reading<T>(
        _ path: String, on connection: DatabaseQueue, _ body: (Database) throws -> T
    ) throws(ConveyorError) -> T {
        do {
            return try connection.read(body)
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

import FoundationEssentials
import GRDB
import GRDBSQLite

/// Steps one of GRDB's prepared statements through SQLite's C API and lends
/// each row to a closure: the only place Conveyor calls SQLite directly
/// (GRDB opens the connection and prepares the statement, which the
/// connection keeps). What a row lends (its bytes) is valid only during the
/// call; the statement is reset before and after.
enum SQLiteRawRows {
    /// Binds `keys` to the statement's parameters 1…n and calls `body` for each row.
    static func forEachRow(
        of statement: Statement, binding keys: [Int64], in database: Database, _ body: (SQLiteRawRow) throws -> Void
    ) throws {
        let raw = statement.sqliteStatement
        sqlite3_reset(raw)
        defer { sqlite3_reset(raw) }
        for (position, key) in keys.enumerated() {
            let code = sqlite3_bind_int64(raw, CInt(position + 1), key)
            guard code == SQLITE_OK else { throw error(code, in: database) }
        }
        while true {
            let code = sqlite3_step(raw)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw error(code, in: database) }
            try body(SQLiteRawRow(statement: raw))
        }
    }

    private static func error(_ code: CInt, in database: Database) -> DatabaseError {
        let message = database.sqliteConnection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message)
    }
}

/// The row a statement stands on: column 0 the key, then the columns.
struct SQLiteRawRow: SQLiteColumnValues {
    let statement: OpaquePointer

    /// The row's key.
    var key: Int64 { sqlite3_column_int64(statement, 0) }

    func value(ofColumn column: Int) -> DatabaseValue {
        let index = CInt(column + 1)
        switch sqlite3_column_type(statement, index) {
        case SQLITE_INTEGER: return sqlite3_column_int64(statement, index).databaseValue
        case SQLITE_FLOAT: return sqlite3_column_double(statement, index).databaseValue
        case SQLITE_NULL: return .null
        default: return withBytes(ofColumn: column) { bytes in bytes.map { Data($0) }?.databaseValue ?? .null }
        }
    }

    /// Copies column `column` into `destination` (a field's place in a
    /// sample, zeroed) when it holds what `layout` takes, and returns the rows
    /// it holds; nil when it does not (nothing is written then).
    func copy(column: Int, as layout: SQLiteFieldLayout, into destination: UnsafeMutableRawBufferPointer) -> Int? {
        let index = CInt(column + 1)
        let type = sqlite3_column_type(statement, index)
        switch (layout.kind, type) {
        case (.bytes, SQLITE_NULL):
            return 0
        case (.bytes, SQLITE_BLOB), (.bytes, SQLITE_TEXT):
            // The pointer before the length, as SQLite asks.
            let start = type == SQLITE_BLOB
                ? sqlite3_column_blob(statement, index) : UnsafeRawPointer(sqlite3_column_text(statement, index))
            let count = Int(sqlite3_column_bytes(statement, index))
            guard count % layout.bytesPerRow == 0, count / layout.bytesPerRow <= layout.maxRows else { return nil }
            if count > 0, let start { destination.baseAddress!.copyMemory(from: start, byteCount: count) }
            return count / layout.bytesPerRow
        case (.int64, SQLITE_INTEGER):
            destination.storeBytes(of: sqlite3_column_int64(statement, index).littleEndian, as: Int64.self)
            return 1
        case (.float64, SQLITE_FLOAT):
            destination.storeBytes(of: sqlite3_column_double(statement, index), as: Float64.self)
            return 1
        case (.float64, SQLITE_INTEGER):
            destination.storeBytes(of: Double(sqlite3_column_int64(statement, index)), as: Float64.self)
            return 1
        default:
            return nil
        }
    }

    func withBytes<T>(ofColumn column: Int, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
        let index = CInt(column + 1)
        switch sqlite3_column_type(statement, index) {
        case SQLITE_NULL:
            return try body(nil)
        case SQLITE_TEXT:
            let text = sqlite3_column_text(statement, index)  // before the length, as SQLite asks
            return try body(UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(statement, index))))
        default:
            let blob = sqlite3_column_blob(statement, index)
            return try body(UnsafeRawBufferPointer(start: blob, count: Int(sqlite3_column_bytes(statement, index))))
        }
    }
}

/// Where an SQLite dataset's samples are: a database file, a table or a
/// query, the key that orders and finds rows, and the columns that become
/// fields. Codable, so worker processes open the database themselves.
///
/// ```swift
/// let source = SQLiteSource(path: "train.sqlite", table: "samples",
///                           columns: [SQLiteColumn("image", .bytes(maxCount: 4096)), SQLiteColumn("label", .int64)])
/// ```
public struct SQLiteSource: Sendable, Codable, Hashable {
    /// The database file; opened read-only.
    public var path: String
    /// The rows: a table, or a query (whose result must include `key`).
    public var relation: SQLiteRelation
    /// The integer column that orders and finds rows; nil: the table's rowid.
    public var key: String?
    /// The columns that become fields, in order.
    public var columns: [SQLiteColumn]
    /// How long a read waits for a writer's lock before it fails, in milliseconds.
    public var busyTimeoutMilliseconds: Int

    /// The rows of `table`, found by `key` (nil: rowid).
    public init(path: String, table: String, key: String? = nil, columns: [SQLiteColumn], busyTimeoutMilliseconds: Int = 5000) {
        self.init(path: path, relation: .table(table), key: key, columns: columns, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
    }

    /// The rows of `relation`; a query needs a `key` column of its result.
    public init(path: String, relation: SQLiteRelation, key: String?, columns: [SQLiteColumn], busyTimeoutMilliseconds: Int = 5000) {
        self.path = path
        self.relation = relation
        self.key = key
        self.columns = columns
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
    }

    /// The fields the columns become.
    public var schema: Schema {
        get throws(ConveyorError) { try Schema(columns.map(\.field)) }
    }
}

/// The rows an `SQLiteSource` reads.
public enum SQLiteRelation: Sendable, Codable, Hashable {
    /// A table (or view), by name.
    case table(String)
    /// A query, such as "SELECT id, image, label FROM samples WHERE split = 'train'".
    case query(String)

    /// The relation as it goes after FROM.
    var sql: String {
        switch self {
        case let .table(name): SQLiteColumn.quoted(name)
        case let .query(query): "(\(query))"
        }
    }
}

/// A column read as a field.
public struct SQLiteColumn: Sendable, Codable, Hashable {
    /// The column, and the field's name.
    public var name: String
    /// What the column holds.
    public var kind: Kind

    /// What a column holds, and the field it becomes.
    public enum Kind: Sendable, Codable, Hashable {
        /// An INTEGER: an `i64` scalar.
        case int64
        /// A REAL (or INTEGER): an `f64` scalar.
        case float64
        /// A BLOB or TEXT of at most `maxCount` bytes: `u8`, a row per byte.
        case bytes(maxCount: Int)
        /// A BLOB of raw little-endian scalars: `dtype` rows of `shape`
        /// (its first dimension the most rows; the BLOB holds whole rows).
        case tensor(DType, shape: [Int])
    }

    /// The column `name`, holding `kind`.
    public init(_ name: String, _ kind: Kind) {
        self.name = name
        self.kind = kind
    }

    /// The field it becomes.
    public var field: Field {
        switch kind {
        case .int64: Field(name, .int64, shape: [])
        case .float64: Field(name, .float64, shape: [])
        case let .bytes(maxCount): Field(name, .uint8, shape: [maxCount])
        case let .tensor(dtype, shape): Field(name, dtype, shape: shape)
        }
    }

    /// `name` as an SQL identifier.
    static func quoted(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

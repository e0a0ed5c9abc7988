import GRDB

/// The key of each sample, ascending. Keys that are the rowid (or the
/// table's INTEGER PRIMARY KEY) and have no gaps are held as a run, their
/// first key and count: 16 bytes whatever the rows. Any other keys are
/// listed, 8 bytes a row (a table of 100 M rows: 800 MB in each process
/// that opens it).
enum SQLiteKeys: Sendable, Equatable {
    /// `count` consecutive keys from `first` on.
    case run(first: Int64, count: Int)
    /// Every key.
    case listed([Int64])

    /// The samples.
    var count: Int {
        switch self {
        case let .run(_, count): count
        case let .listed(keys): keys.count
        }
    }

    /// Sample `index`'s key; `index` is in `0..<count`.
    subscript(index: Int) -> Int64 {
        switch self {
        case let .run(first, _): first + Int64(index)
        case let .listed(keys): keys[index]
        }
    }

    /// The smallest key; nil when there are no rows.
    var first: Int64? { count == 0 ? nil : self[0] }

    /// The keys of `relation` by `keySQL` (a quoted column, or rowid when
    /// `key` is nil): a run when the key is the table's rowid and the rowids
    /// have no gaps (the smallest, the largest and the count say so: a rowid
    /// is unique), else every key, read in order.
    static func load(
        of relation: SQLiteRelation, key: String?, keySQL: String, in database: Database
    ) throws -> SQLiteKeys {
        if try keyIsRowID(of: relation, key: key, in: database),
            let bounds = try Row.fetchOne(database, sql: "SELECT min(\(keySQL)), max(\(keySQL)), count(*) FROM \(relation.sql)")
        {
            let count: Int = bounds[2]
            guard let first: Int64 = bounds[0], let last: Int64 = bounds[1] else { return .run(first: 0, count: 0) }
            let (span, overflow) = last.subtractingReportingOverflow(first)
            if !overflow, span == Int64(count) - 1 { return .run(first: first, count: count) }
        }
        return .listed(try Int64.fetchAll(database, sql: "SELECT \(keySQL) FROM \(relation.sql) ORDER BY \(keySQL)"))
    }

    /// Whether `key` names each row of `relation` once as its rowid: nil
    /// (rowid) or a table's INTEGER PRIMARY KEY.
    private static func keyIsRowID(of relation: SQLiteRelation, key: String?, in database: Database) throws -> Bool {
        guard case let .table(table) = relation else { return false }
        guard let key else { return true }
        return (try? database.primaryKey(table))?.rowIDColumn?.lowercased() == key.lowercased()
    }
}

import GRDB

/// One read-only connection per worker, opened when the worker first reads:
/// a connection is never shared between threads, and each worker process
/// opens its own.
final class SQLiteConnections: Sendable {
    private let table: SQLiteTable
    private let connections = Locked<[Int: SQLiteConnection]>([:])

    init(table: SQLiteTable) {
        self.table = table
    }

    /// Worker `worker`'s connection (`nil`: the consumer's own, `.inline`).
    func connection(for worker: Int?) throws(ConveyorError) -> SQLiteConnection {
        let result = connections.withLock { connections -> Result<SQLiteConnection, ConveyorError> in
            if let connection = connections[worker ?? -1] { return .success(connection) }
            return Result { () throws(ConveyorError) in
                let connection = SQLiteConnection(queue: try table.connect())
                connections[worker ?? -1] = connection
                return connection
            }
        }
        return try result.get()
    }
}

/// A read-only connection and the batch statements prepared on it, one per
/// batch size, kept for the connection's life: a batch binds its keys to a
/// statement it already has, with no SQL built and no cache looked up.
final class SQLiteConnection: @unchecked Sendable {
    // @unchecked: `statements` is only touched inside `queue`'s accesses, which GRDB runs one at a time.
    /// The connection.
    let queue: DatabaseQueue
    private var statements: [Int: Statement] = [:]

    init(queue: DatabaseQueue) {
        self.queue = queue
    }

    deinit {
        // Finalized before the connection closes (stored properties are released after this body).
        statements.removeAll()
    }

    /// The statement for batches of `count` keys, prepared from `sql(count)`
    /// the first time; call it only inside an access to `queue` (`database`).
    func batchStatement(keys count: Int, in database: Database, sql: (Int) -> String) throws -> Statement {
        if let statement = statements[count] { return statement }
        let statement = try database.makeStatement(sql: sql(count))
        statements[count] = statement
        return statement
    }
}

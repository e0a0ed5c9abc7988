import GRDB

/// One read-only connection per worker, opened when the worker first reads:
/// a connection is never shared between threads, and each worker process
/// opens its own.
final class SQLiteConnections: Sendable {
    private let table: SQLiteTable
    private let connections = Locked<[Int: DatabaseQueue]>([:])

    init(table: SQLiteTable) {
        self.table = table
    }

    /// Worker `worker`'s connection (`nil`: the consumer's own, `.inline`).
    func connection(for worker: Int?) throws(ConveyorError) -> DatabaseQueue {
        let result = connections.withLock { connections -> Result<DatabaseQueue, ConveyorError> in
            if let connection = connections[worker ?? -1] { return .success(connection) }
            return Result { () throws(ConveyorError) in
                let connection = try table.connect()
                connections[worker ?? -1] = connection
                return connection
            }
        }
        return try result.get()
    }
}

import GRDB

/// The rows of an SQLite table or query as a sharded stream: shard `s` is
/// the `rowsPerShard` rows after the first `s × rowsPerShard` in key order,
/// read forward in chunks (`WHERE key >= ? ORDER BY key LIMIT n`) through
/// the reader's own read-only connection.
///
/// ```swift
/// let stream = StreamDataset(try SQLiteShards(source, rowsPerShard: 10_000))
/// let loader = try DataLoader(streaming: stream, LoaderConfiguration(batchSize: 64, sampler: .shuffled,
///                             workers: .threads(2)), shuffleBuffer: 1000)
/// ```
public struct SQLiteShards: ShardSource {
    /// Rows per shard (the last may hold fewer).
    public let rowsPerShard: Int
    /// A field per column, in order.
    public var schema: Schema { table.schema }
    /// The rows in each shard.
    public let shardSizes: [Int]
    private let table: SQLiteTable

    /// Opens the database and cuts its rows into shards of `rowsPerShard`.
    public init(_ source: SQLiteSource, rowsPerShard: Int = 10_000) throws(ConveyorError) {
        guard rowsPerShard >= 1 else { throw .invalidArgument("rowsPerShard is \(rowsPerShard); pass 1 or more") }
        table = try SQLiteTable(source)
        self.rowsPerShard = rowsPerShard
        let count = table.keys.count
        shardSizes = stride(from: 0, to: count, by: rowsPerShard).map { min(rowsPerShard, count - $0) }
    }

    /// "PATH rows A..<B".
    public func shardName(_ shard: Int) -> String {
        "\(table.source.path) rows \(shard * rowsPerShard)..<\(shard * rowsPerShard + shardSizes[shard])"
    }

    /// A reader of shard `shard` from its row `sample`, with a connection of its own.
    public func openShard(_ shard: Int, at sample: Int) throws -> SQLiteShardReader {
        let start = shard * rowsPerShard
        return SQLiteShardReader(
            table: table, connection: try table.connect(), next: start + sample, end: start + shardSizes[shard])
    }
}

extension SQLiteShards {
    /// SQLite shards for worker processes: each opens the database itself.
    /// Built in: registered without `bootstrap(datasets:)`.
    public struct Description: DatasetDescription, Hashable {
        /// The database, rows and columns.
        public var source: SQLiteSource
        /// Rows per shard.
        public var rowsPerShard: Int

        /// The rows `source` names, in shards of `rowsPerShard`.
        public init(source: SQLiteSource, rowsPerShard: Int = 10_000) {
            self.source = source
            self.rowsPerShard = rowsPerShard
        }

        /// "SQLiteShards".
        public static var typeName: String { "SQLiteShards" }

        /// Opens the database.
        public func makeDataset() throws -> StreamDataset<SQLiteShards> {
            StreamDataset(try SQLiteShards(source, rowsPerShard: rowsPerShard))
        }
    }
}

/// Reads a run of rows in key order, a chunk of rows per query.
public struct SQLiteShardReader: ShardReader {
    private let table: SQLiteTable
    private let connection: DatabaseQueue
    /// The next row, as a position in key order.
    private var next: Int
    private let end: Int
    /// Rows fetched ahead, starting at `next`.
    private var chunk: ArraySlice<SQLiteTable.FetchedRow> = []

    /// Rows fetched per query.
    static let chunkRows = 256

    init(table: SQLiteTable, connection: DatabaseQueue, next: Int, end: Int) {
        self.table = table
        self.connection = connection
        self.next = next
        self.end = end
    }

    /// Writes the next row into `writer`.
    public mutating func write(into writer: inout SampleWriter) throws {
        let row = try take()
        try table.write(row, key: row.key, into: &writer)
    }

    /// The next row as tensors.
    public mutating func read() throws -> Sample {
        let row = try take()
        return try table.schema.sample { try table.write(row, key: row.key, into: &$0) }
    }

    /// Moves past the next row (dropping it from the chunk, or fetching nothing).
    public mutating func skip() throws {
        guard next < end else { throw ConveyorError.invalidArgument("the shard ends at row \(end); there is no next one") }
        if !chunk.isEmpty { chunk.removeFirst() }
        next += 1
    }

    /// The next row, fetching a chunk when none is left.
    private mutating func take() throws -> SQLiteTable.FetchedRow {
        guard next < end else { throw ConveyorError.invalidArgument("the shard ends at row \(end); there is no next one") }
        if chunk.isEmpty {
            let rows = try table.rows(from: table.keys[next], limit: min(SQLiteShardReader.chunkRows, end - next), on: connection)
            guard rows.first?.key == table.keys[next] else {
                throw ConveyorError.invalidFile(
                    path: table.source.path, problem: "the row with key \(table.keys[next]) is gone; the table changed while it was read")
            }
            chunk = rows[...]
        }
        next += 1
        return chunk.removeFirst()
    }
}

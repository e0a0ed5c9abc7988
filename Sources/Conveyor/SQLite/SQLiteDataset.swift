import GRDB

/// The rows of an SQLite table or query as a random-access dataset: sample
/// `i` is the row with the `i`-th smallest key; a batch is one `WHERE key IN
/// (…)` query, each column copied from SQLite's memory into the batch. Each
/// worker reads through its own read-only connection (each worker process
/// opens its own), so the database is never written and never shared
/// between threads.
///
/// ```swift
/// let rows = try SQLiteDataset(SQLiteSource(path: "train.sqlite", table: "samples",
///                              columns: [SQLiteColumn("image", .bytes(maxCount: 4096)), SQLiteColumn("label", .int64)]))
/// let loader = try DataLoader(describedBy: rows.description, LoaderConfiguration(batchSize: 64, sampler: .shuffled,
///                                                                                workers: .processes(2)))
/// ```
public struct SQLiteDataset: SchemaDataset {
    /// Where the rows are.
    public var source: SQLiteSource { table.source }
    /// The rows.
    public var count: Int { table.keys.count }
    /// A field per column, in order.
    public var schema: Schema { table.schema }
    private let table: SQLiteTable
    private let connections: SQLiteConnections

    /// Opens the database (read-only), checks the columns and loads the
    /// keys: when the key is the table's rowid (or its INTEGER PRIMARY KEY)
    /// and the rowids have no gaps, only the first and the count (16 bytes);
    /// otherwise every key (8 bytes a row, in each process that opens it).
    /// Throws `.invalidFile` for a missing, damaged or non-SQLite file,
    /// `.unavailable` for a database locked longer than the busy timeout.
    public init(_ source: SQLiteSource) throws(ConveyorError) {
        table = try SQLiteTable(source)
        connections = SQLiteConnections(table: table)
    }

    /// The description worker processes make it from.
    public var description: Description { Description(source: source) }

    /// The row of the `index`-th key.
    public func sample(at index: Int) throws -> Sample {
        try sample(at: index, context: SampleContext())
    }

    /// The row of the `index`-th key, read through the context's worker's connection.
    public func sample(at index: Int, context: SampleContext) throws -> Sample {
        guard (0..<count).contains(index) else {
            throw ConveyorError.invalidArgument("sample \(index) is outside the table's 0..<\(count)")
        }
        let key = table.keys[index]
        guard let row = try table.rows(from: key, limit: 1, on: try connections.connection(for: context.worker).queue).first,
            row.key == key
        else {
            throw ConveyorError.invalidFile(path: source.path, problem: "the row with key \(key) is gone; the table changed while it was read")
        }
        return try schema.sample { try table.write(row, key: key, into: &$0) }
    }

    /// True: each value is copied whole into the rows it uses (a NULL uses none).
    public var writesEveryUsedByte: Bool { true }

    /// One query for the batch's rows, each written into its place.
    public func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws {
        if let bad = indices.first(where: { !(0..<count).contains($0) }) {
            throw ConveyorError.invalidArgument("sample \(bad) is outside the table's 0..<\(count)")
        }
        let connection = try connections.connection(for: context.worker)
        let missing = try table.write(keys: indices.map { table.keys[$0] }, into: &batch, on: connection)
        if let position = missing.first {
            let index = indices[indices.startIndex + position]
            throw ConveyorError.sourceFailed(
                index: index, worker: context.worker,
                message: "the row with key \(table.keys[index]) is gone from \(source.path); the table changed while it was read")
        }
    }
}

extension SQLiteDataset {
    /// An SQLite dataset for worker processes: each opens the database itself.
    /// Built in: registered without `bootstrap(datasets:)`.
    public struct Description: DatasetDescription, Hashable {
        /// The database, rows and columns.
        public var source: SQLiteSource

        /// The rows `source` names.
        public init(source: SQLiteSource) {
            self.source = source
        }

        /// "SQLiteDataset".
        public static var typeName: String { "SQLiteDataset" }

        /// Opens the database.
        public func makeDataset() throws -> SQLiteDataset {
            try SQLiteDataset(source)
        }
    }
}

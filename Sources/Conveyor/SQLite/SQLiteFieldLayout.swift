/// What a column's value must be to be copied into its field straight from
/// SQLite's memory (`SQLiteRawRow.copy(column:as:into:)`): the batch path's
/// plan, worked out once per table. A value that is anything else takes the
/// general path, which converts it or says why it does not fit.
struct SQLiteFieldLayout: Sendable {
    /// What the field takes.
    enum Kind: Sendable {
        /// A BLOB or TEXT (or NULL, 0 rows) of whole rows: `.bytes`, `.tensor`.
        case bytes
        /// An INTEGER.
        case int64
        /// A REAL or an INTEGER.
        case float64
    }

    let kind: Kind
    /// Bytes per row of the field.
    let bytesPerRow: Int
    /// Rows the field holds at most (the rows a sample has unless set).
    let maxRows: Int

    /// The layout of `column`, whose field is `field`.
    init(_ column: SQLiteColumn, field: Field) {
        switch column.kind {
        case .bytes, .tensor: kind = .bytes
        case .int64: kind = .int64
        case .float64: kind = .float64
        }
        bytesPerRow = field.bytesPerRow
        maxRows = field.maxRows
    }
}

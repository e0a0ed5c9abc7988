/// A reserved slot being written: typed, mutable views of its fields in
/// the shared segment itself. `commit()` publishes the item; dropping the
/// writer (or `discard()`) publishes nothing and frees the reservation.
///
/// Each field starts at its maximum row count; `setRows(_:of:)` shrinks it
/// (the rows a consumer will see). Views always span the maximum.
public struct RingWriter: ~Copyable {
    private let producer: RingProducer
    private let slot: SlotWords
    private let position: UInt64
    /// Set by a failed `setRows`: the item is then never published.
    private var failure: ConveyorError?

    init(producer: RingProducer, slot: SlotWords, position: UInt64) {
        self.producer = producer
        self.slot = slot
        self.position = position
    }

    deinit {
        producer.abandon(position: position)
    }

    /// The ring's schema.
    public var schema: Schema { producer.ring.schema }

    /// Calls `body` with a mutable span over field `field` at its maximum size
    /// (`maxRows × scalarsPerRow` scalars); the span cannot escape the call.
    public func withMutableSpan<T: DTypeScalar, R>(
        of field: Int, as type: T.Type, _ body: (inout MutableSpan<T>) throws -> R
    ) throws -> R {
        try withUnsafeMutableBufferPointer(of: field, as: type) { buffer in
            var span = buffer.mutableSpan
            return try body(&span)
        }
    }

    /// `withMutableSpan(of:as:_:)` for the field named `name`.
    public func withMutableSpan<T: DTypeScalar, R>(
        of name: String, as type: T.Type, _ body: (inout MutableSpan<T>) throws -> R
    ) throws -> R {
        try withMutableSpan(of: schema.ringFieldIndex(name), as: type, body)
    }

    /// Calls `body` with the slot's memory for `field` at its maximum size.
    /// The pointer must not be used after `body` returns.
    public func withUnsafeMutableBufferPointer<T: DTypeScalar, R>(
        of field: Int, as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) throws -> R {
        let geometry = try slot.field(field, as: type, schema: schema)
        let count = geometry.maxRows * geometry.scalarsPerRow
        let start = slot.fieldStart(field).bindMemory(to: T.self, capacity: count)
        return try body(UnsafeMutableBufferPointer(start: start, count: count))
    }

    /// Sets how many rows of `field` the item holds (0...maxRows). More than
    /// the maximum is `.itemTooLarge`, and then the item will not be published.
    public mutating func setRows(_ rows: Int, of field: Int) throws(ConveyorError) {
        let maximum = try slot.field(field).maxRows
        guard rows >= 0, rows <= maximum else {
            let error = ConveyorError.itemTooLarge(field: schema.fields[field].name, length: rows, maximum: maximum)
            if rows > maximum { failure = error }
            throw rows < 0 ? .invalidArgument("a row count cannot be negative (\(rows))") : error
        }
        slot.setStoredRows(UInt32(rows), field)
    }

    /// `setRows(_:of:)` for the field named `name`.
    public mutating func setRows(_ rows: Int, of name: String) throws(ConveyorError) {
        try setRows(rows, of: schema.ringFieldIndex(name))
    }

    /// Copies a column (already checked against the field) into `field`.
    func copy(_ column: RingColumn, into field: Int) {
        column.copy(slot.fieldStart(field))
    }

    /// Publishes the item to the consumers. Throws `.ringReset` (nothing is
    /// published) if the ring was reset since the reserve, or the error of
    /// an earlier failed `setRows`.
    public consuming func commit() throws(ConveyorError) {
        if let failure {
            producer.abandon(position: position)
            throw failure
        }
        try producer.commit(position: position, slot: slot)
    }

    /// Gives the slot back unpublished (what dropping the writer does too).
    public consuming func discard() {}
}

/// One field's values for `RingProducer.put`: a typed array, copied into the
/// slot. Its count must be a whole number of rows.
///
/// ```swift
/// try producer.put([RingColumn(floats), RingColumn(labels)], timeout: .seconds(1))
/// ```
public struct RingColumn: @unchecked Sendable {
    // @unchecked: `copy` only reads the immutable array it captured.
    let dtype: DType
    let count: Int
    let copy: (UnsafeMutableRawPointer) -> Void

    /// A column of `values`.
    public init<T: DTypeScalar>(_ values: [T]) {
        dtype = T.dtype
        count = values.count
        copy = { destination in
            values.withUnsafeBytes { source in
                if let base = source.baseAddress { destination.copyMemory(from: base, byteCount: source.count) }
            }
        }
    }

    /// The row count this column gives `field`, or an error when it does not fit.
    func rows(for field: Field) throws(ConveyorError) -> Int {
        guard dtype == field.dtype else {
            throw .invalidArgument("field '\(field.name)' holds \(field.dtype), but its column holds \(dtype)")
        }
        guard count % field.scalarsPerRow == 0 else {
            throw .invalidArgument("field '\(field.name)' rows hold \(field.scalarsPerRow) scalars; "
                + "\(count) is not a whole number of rows")
        }
        let rows = count / field.scalarsPerRow
        guard rows <= field.maxRows else {
            throw .itemTooLarge(field: field.name, length: rows, maximum: field.maxRows)
        }
        return rows
    }
}

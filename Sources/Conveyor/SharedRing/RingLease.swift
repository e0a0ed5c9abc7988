/// One item leased from a ring: read-only views straight into its slot,
/// valid until the lease ends. The lease cannot be copied and its views
/// cannot leave their closures, so no view outlives the slot; when the
/// lease is released (or dropped) the slot goes back to its producer.
///
/// Views cover only the rows the producer wrote.
public struct RingLease: ~Copyable {
    private let consumer: RingConsumer
    private let slot: SlotWords
    /// The lane the item came from (the producer's lane).
    public let lane: Int
    /// The item's position in its lane: the producer's k-th item has position k
    /// (counting every item the lane ever carried).
    public let position: UInt64

    init(consumer: RingConsumer, slot: SlotWords, lane: Int, position: UInt64) {
        self.consumer = consumer
        self.slot = slot
        self.lane = lane
        self.position = position
    }

    deinit {
        consumer.release(slot: slot, lane: lane, position: position)
    }

    /// Gives the slot back to its producer now.
    public consuming func release() {}

    /// The ring's schema.
    public var schema: Schema { consumer.ring.schema }

    /// The rows `field` holds in this item. A stored count above the
    /// field's maximum is `.corruptSegment` (the segment is not trusted).
    public func rows(of field: Int) throws(ConveyorError) -> Int {
        let maximum = try slot.field(field).maxRows
        let rows = Int(slot.storedRows(field))
        guard rows <= maximum else {
            throw .corruptSegment("lane \(lane) position \(position): field '\(schema.fields[field].name)' "
                + "claims \(rows) rows, more than its maximum \(maximum)")
        }
        return rows
    }

    /// The rows the field named `name` holds in this item.
    public func rows(of name: String) throws(ConveyorError) -> Int {
        try rows(of: schema.ringFieldIndex(name))
    }

    /// Calls `body` with a span over `field`'s real data (rows × scalarsPerRow scalars).
    public func withSpan<T: DTypeScalar, R>(of field: Int, as type: T.Type, _ body: (Span<T>) throws -> R) throws -> R {
        try withUnsafeBufferPointer(of: field, as: type) { try body($0.span) }
    }

    /// `withSpan(of:as:_:)` for the field named `name`.
    public func withSpan<T: DTypeScalar, R>(of name: String, as type: T.Type, _ body: (Span<T>) throws -> R) throws -> R {
        try withSpan(of: schema.ringFieldIndex(name), as: type, body)
    }

    /// Calls `body` with a pointer to `field`'s real data; it must not be used after `body` returns.
    public func withUnsafeBufferPointer<T: DTypeScalar, R>(
        of field: Int, as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) throws -> R {
        let geometry = try slot.field(field, as: type, schema: schema)
        let count = try rows(of: field) * geometry.scalarsPerRow
        let start = UnsafePointer(slot.fieldStart(field).bindMemory(to: T.self, capacity: count))
        return try body(UnsafeBufferPointer(start: start, count: count))
    }

    /// Calls `body` with `field`'s real data as bytes.
    public func withUnsafeBytes<R>(of field: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let count = try rows(of: field) * slot.field(field).bytesPerRow
        return try body(UnsafeRawBufferPointer(start: slot.fieldStart(field), count: count))
    }
}

import Conveyor

/// A producer held by a C caller, with the slot it has reserved, if any.
final class ProducerHandle: HandleObject, @unchecked Sendable {
    static let kind = "producer"
    let producer: RingProducer
    private var writer: RingWriter?

    /// The schema's fields' dtypes, in order.
    private let dtypes: [DType]

    init(_ producer: RingProducer) {
        self.producer = producer
        dtypes = producer.ring.schema.fields.map(\.dtype)
    }

    /// The schema's field count.
    var fieldCount: Int { dtypes.count }

    /// Reserves a slot; stores each field's memory in it (at its maximum
    /// size) in `fields` and `capacities` (`fieldCount` elements each).
    func reserve(
        timeout: Duration?, fields: UnsafeMutablePointer<UnsafeMutableRawPointer?>, capacities: UnsafeMutablePointer<UInt64>
    ) throws(ConveyorError) {
        if let stale = writer.take() { stale.discard() }
        let writer = try producer.reserve(timeout: timeout)
        for (index, dtype) in dtypes.enumerated() {
            let memory = try ScalarDispatch.fieldMemory(of: writer, field: index, dtype: dtype)
            fields[index] = memory.baseAddress
            capacities[index] = UInt64(memory.count)
        }
        self.writer = consume writer
    }

    /// Publishes the reserved item with `rows` rows per field (nil: each at its maximum).
    func commit(rows: [Int]?) throws(ConveyorError) {
        guard var writer = writer.take() else {
            throw .invalidArgument("nothing is reserved: call reserve before commit")
        }
        if let rows {
            for (field, count) in rows.enumerated() { try writer.setRows(count, of: field) }
        }
        try writer.commit()
    }

    /// Gives the reserved slot back unpublished.
    func discard() {
        writer.take()?.discard()
    }

    /// Ends the lane's stream (`RingProducer.finish`).
    func finish() throws(ConveyorError) {
        guard writer == nil else {
            throw .invalidArgument("this producer has a reserved slot; commit or discard it before finishing")
        }
        try producer.finish()
    }

    func close() { discard() }
}

/// Calls the typed `RingWriter` API with the Swift type of a field's dtype.
enum ScalarDispatch {
    /// The whole memory of `field` in the writer's slot. It stays valid
    /// until the writer commits or is discarded (the slot's place in the
    /// mapped segment does not move), which the C caller is told.
    static func fieldMemory(
        of writer: borrowing RingWriter, field: Int, dtype: DType
    ) throws(ConveyorError) -> UnsafeMutableRawBufferPointer {
        func memory<T: DTypeScalar>(_ type: T.Type) throws(ConveyorError) -> UnsafeMutableRawBufferPointer {
            try typed { try writer.withUnsafeMutableBufferPointer(of: field, as: type) { UnsafeMutableRawBufferPointer($0) } }
        }
        switch dtype {
        case .uint8: return try memory(UInt8.self)
        case .int8: return try memory(Int8.self)
        case .int16: return try memory(Int16.self)
        case .uint16: return try memory(UInt16.self)
        case .int32: return try memory(Int32.self)
        case .uint32: return try memory(UInt32.self)
        case .int64: return try memory(Int64.self)
        case .uint64: return try memory(UInt64.self)
        case .float16: return try memory(Float16.self)
        case .float32: return try memory(Float.self)
        case .float64: return try memory(Double.self)
        }
    }
}

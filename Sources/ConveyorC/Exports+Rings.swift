import Conveyor
import ConveyorCABI

// The C interface's rings, producers and consumers (include/conveyor.h).

/// A C caller's `conveyor_error *` (may be NULL).
public typealias CError = UnsafeMutablePointer<conveyor_error>?
/// A C caller's `char **` that receives a JSON string to free with `conveyor_free`.
public typealias CJSON = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?

/// A C timeout in seconds as a Swift one: negative waits without limit.
func timeout(seconds: Double) throws(ConveyorError) -> Duration? {
    guard !seconds.isNaN else { throw .invalidArgument("the timeout is NaN; pass seconds, or a negative value for none") }
    if seconds < 0 || seconds.isInfinite { return nil }
    return .nanoseconds(Int64(min(seconds, 1e9) * 1e9))
}

/// Checks a caller's field count against the schema's.
func checkFieldCount(_ count: Int32, _ schema: Schema) throws(ConveyorError) {
    try checkFieldCount(count, schema.fields.count)
}

/// Checks a caller's field count against the schema's `expected` count.
func checkFieldCount(_ count: Int32, _ expected: Int) throws(ConveyorError) {
    guard Int(count) == expected else {
        throw .invalidArgument("field_count is \(count) but the schema has \(expected) fields")
    }
}

/// Stores `value` through `pointer`, which must not be NULL.
func store<T>(_ value: T, _ pointer: UnsafeMutablePointer<T>?, _ what: String) throws(ConveyorError) {
    guard let pointer else { throw .invalidArgument("\(what) is NULL") }
    pointer.pointee = value
}

/// Checks that an array argument is not NULL.
func required<T>(_ pointer: T?, _ what: String) throws(ConveyorError) -> T {
    guard let pointer else { throw .invalidArgument("\(what) is NULL") }
    return pointer
}

/// `conveyor_abi_version`, as include/conveyor.h documents it.
@_cdecl("conveyor_abi_version")
public func conveyorABIVersion() -> Int32 { 1 }

/// `conveyor_abi_minor`, as include/conveyor.h documents it.
@_cdecl("conveyor_abi_minor")
public func conveyorABIMinor() -> Int32 { 3 }

/// `conveyor_free`, as include/conveyor.h documents it.
@_cdecl("conveyor_free")
public func conveyorFree(_ text: UnsafeMutablePointer<CChar>?) { CText.free(text) }

/// `conveyor_close`, as include/conveyor.h documents it.
@_cdecl("conveyor_close")
public func conveyorClose(_ handle: UInt64, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try Handles.remove(handle) }
}

/// `conveyor_ring_create`, as include/conveyor.h documents it.
@_cdecl("conveyor_ring_create")
public func conveyorRingCreate(
    _ schemaJSON: UnsafePointer<CChar>?, _ lanes: Int32, _ slotsPerLane: Int32, _ named: Int32,
    _ name: UnsafePointer<CChar>?, _ ring: UnsafeMutablePointer<UInt64>?, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let schema = try CText.decode(SchemaDocument.self, schemaJSON, "schema_json").schema()
        let naming: SharedRing.Naming = named != 0 ? .named(name.map { String(cString: $0) }) : .anonymous
        let out = try required(ring, "ring")
        let made = try SharedRing.create(schema: schema, lanes: Int(lanes), slotsPerLane: Int(slotsPerLane), naming: naming)
        out.pointee = Handles.add(RingHandle(made))
    }
}

/// `conveyor_ring_attach_descriptor`, as include/conveyor.h documents it.
@_cdecl("conveyor_ring_attach_descriptor")
public func conveyorRingAttachDescriptor(
    _ descriptor: Int32, _ schemaJSON: UnsafePointer<CChar>?, _ ring: UnsafeMutablePointer<UInt64>?, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let schema = try schemaJSON.map { (text) throws(ConveyorError) in
            try CText.decode(SchemaDocument.self, text, "schema_json").schema()
        }
        let out = try required(ring, "ring")
        out.pointee = Handles.add(RingHandle(try SharedRing.attach(descriptor: descriptor, expecting: schema)))
    }
}

/// `conveyor_ring_attach_name`, as include/conveyor.h documents it.
@_cdecl("conveyor_ring_attach_name")
public func conveyorRingAttachName(
    _ name: UnsafePointer<CChar>?, _ schemaJSON: UnsafePointer<CChar>?, _ ring: UnsafeMutablePointer<UInt64>?,
    _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let schema = try schemaJSON.map { (text) throws(ConveyorError) in
            try CText.decode(SchemaDocument.self, text, "schema_json").schema()
        }
        let name = try CText.string(name, "name")
        let out = try required(ring, "ring")
        out.pointee = Handles.add(RingHandle(try SharedRing.attach(name: name, expecting: schema)))
    }
}

/// `conveyor_ring_describe`, as include/conveyor.h documents it.
@_cdecl("conveyor_ring_describe")
public func conveyorRingDescribe(_ ring: UInt64, _ json: CJSON, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        try CText.give(RingDescription(Handles.get(ring, as: RingHandle.self).ring), json)
    }
}

/// `conveyor_ring_info`, as include/conveyor.h documents it.
@_cdecl("conveyor_ring_info")
public func conveyorRingInfo(_ ring: UInt64, _ json: CJSON, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        try CText.give(RingInfoDocument(Handles.get(ring, as: RingHandle.self).ring.info), json)
    }
}

/// `conveyor_ring_reset`, as include/conveyor.h documents it.
@_cdecl("conveyor_ring_reset")
public func conveyorRingReset(_ ring: UInt64, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try Handles.get(ring, as: RingHandle.self).ring.reset() }
}

/// `conveyor_remove_stale_segments`, as include/conveyor.h documents it.
@_cdecl("conveyor_remove_stale_segments")
public func conveyorRemoveStaleSegments(_ json: CJSON, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try CText.give(SharedRing.removeStaleSegments(), json) }
}

// MARK: Producers

/// `conveyor_producer_open`, as include/conveyor.h documents it.
@_cdecl("conveyor_producer_open")
public func conveyorProducerOpen(
    _ ring: UInt64, _ lane: Int32, _ producer: UnsafeMutablePointer<UInt64>?, _ claimedLane: UnsafeMutablePointer<Int32>?,
    _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let ring = try Handles.get(ring, as: RingHandle.self).ring
        let out = try required(producer, "producer")
        let made = try ring.producer(lane: lane < 0 ? nil : Int(lane))
        claimedLane?.pointee = Int32(made.lane)
        out.pointee = Handles.add(ProducerHandle(made))
    }
}

/// `conveyor_producer_reserve`, as include/conveyor.h documents it.
@_cdecl("conveyor_producer_reserve")
public func conveyorProducerReserve(
    _ producer: UInt64, _ timeoutSeconds: Double, _ fieldCount: Int32,
    _ fields: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ capacities: UnsafeMutablePointer<UInt64>?,
    _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let handle = try Handles.get(producer, as: ProducerHandle.self)
        guard Int(fieldCount) == handle.fieldCount else { try checkFieldCount(fieldCount, handle.producer.ring.schema); return }
        let fields = try required(fields, "fields"), capacities = try required(capacities, "capacities")
        try handle.reserve(timeout: timeout(seconds: timeoutSeconds), fields: fields, capacities: capacities)
    }
}

/// `conveyor_producer_commit`, as include/conveyor.h documents it.
@_cdecl("conveyor_producer_commit")
public func conveyorProducerCommit(
    _ producer: UInt64, _ fieldCount: Int32, _ rows: UnsafePointer<Int64>?, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let handle = try Handles.get(producer, as: ProducerHandle.self)
        guard Int(fieldCount) == handle.fieldCount else { try checkFieldCount(fieldCount, handle.producer.ring.schema); return }
        try handle.commit(rows: rows.map { rows in (0..<Int(fieldCount)).map { Int(rows[$0]) } })
    }
}

/// `conveyor_producer_discard`, as include/conveyor.h documents it.
@_cdecl("conveyor_producer_discard")
public func conveyorProducerDiscard(_ producer: UInt64, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try Handles.get(producer, as: ProducerHandle.self).discard() }
}

/// `conveyor_producer_finish`, as include/conveyor.h documents it.
@_cdecl("conveyor_producer_finish")
public func conveyorProducerFinish(_ producer: UInt64, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try Handles.get(producer, as: ProducerHandle.self).finish() }
}

// MARK: Consumers

/// `conveyor_consumer_open`, as include/conveyor.h documents it.
@_cdecl("conveyor_consumer_open")
public func conveyorConsumerOpen(
    _ ring: UInt64, _ ordered: Int32, _ consumer: UnsafeMutablePointer<UInt64>?, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let ring = try Handles.get(ring, as: RingHandle.self).ring
        let out = try required(consumer, "consumer")
        out.pointee = Handles.add(ConsumerHandle(try ring.consumer(order: ordered != 0 ? .ordered : .unordered)))
    }
}

/// `conveyor_consumer_next`, as include/conveyor.h documents it.
@_cdecl("conveyor_consumer_next")
public func conveyorConsumerNext(
    _ consumer: UInt64, _ timeoutSeconds: Double, _ coldBoot: Int32, _ fieldCount: Int32,
    _ fields: UnsafeMutablePointer<UnsafeRawPointer?>?, _ rows: UnsafeMutablePointer<Int64>?,
    _ lease: UnsafeMutablePointer<UInt64>?, _ place: UnsafeMutablePointer<Int64>?, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let handle = try Handles.get(consumer, as: ConsumerHandle.self)
        guard Int(fieldCount) == handle.fieldCount else { try checkFieldCount(fieldCount, handle.consumer.ring.schema); return }
        let fields = try required(fields, "fields"), rows = try required(rows, "rows")
        let lease = try required(lease, "lease")
        let leased = try handle.next(
            timeout: timeout(seconds: timeoutSeconds), coldBoot: coldBoot != 0, fields: fields, rows: rows)
        lease.pointee = leased.lease
        if let place {
            place[0] = Int64(leased.lane)
            place[1] = Int64(bitPattern: leased.position)
        }
    }
}

/// `conveyor_consumer_release`, as include/conveyor.h documents it.
@_cdecl("conveyor_consumer_release")
public func conveyorConsumerRelease(_ consumer: UInt64, _ lease: UInt64, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try Handles.get(consumer, as: ConsumerHandle.self).release(lease) }
}

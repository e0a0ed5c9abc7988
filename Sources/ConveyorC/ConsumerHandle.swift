import Conveyor

/// A consumer held by a C caller, with its leases by number.
final class ConsumerHandle: HandleObject, @unchecked Sendable {
    static let kind = "consumer"
    let consumer: RingConsumer
    private var leases: [UInt64: LeaseBox] = [:]
    private var nextLease: UInt64 = 1

    /// A lease kept between calls (a dictionary cannot hold a ~Copyable value).
    private final class LeaseBox {
        var lease: RingLease?
        init(_ lease: consuming RingLease) { self.lease = consume lease }
    }

    /// One leased item as the C caller sees it.
    struct Leased {
        var lease: UInt64
        var lane: Int
        var position: UInt64
        /// Each field's rows and their bytes in the slot.
        var fields: [(rows: Int, bytes: UnsafeRawBufferPointer)]
    }

    init(_ consumer: RingConsumer) { self.consumer = consumer }

    /// Leases the next item.
    func next(timeout: Duration?, coldBoot: Bool) throws(ConveyorError) -> Leased {
        let lease = try consumer.next(timeout: timeout, coldBoot: coldBoot)
        var fields: [(rows: Int, bytes: UnsafeRawBufferPointer)] = []
        for field in lease.schema.fields.indices {
            let rows = try lease.rows(of: field)
            // The bytes stay where they are until the lease is released (the slot is the caller's till then).
            let bytes = try typed { try lease.withUnsafeBytes(of: field) { $0 } }
            fields.append((rows, bytes))
        }
        let number = nextLease
        nextLease += 1
        let leased = Leased(lease: number, lane: lease.lane, position: lease.position, fields: fields)
        leases[number] = LeaseBox(lease)
        return leased
    }

    /// Gives lease `number`'s slot back to its producer.
    func release(_ number: UInt64) throws(ConveyorError) {
        guard let box = leases.removeValue(forKey: number) else {
            throw .invalidArgument("lease \(number) is not held by this consumer (released already?)")
        }
        box.lease = nil
    }

    func close() { leases.removeAll() }
}

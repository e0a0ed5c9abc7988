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

    /// The schema's field count.
    let fieldCount: Int

    init(_ consumer: RingConsumer) {
        self.consumer = consumer
        fieldCount = consumer.ring.schema.fields.count
    }

    /// Leases the next item; for each field, stores where its rows are and
    /// how many there are (`fields` and `rows` hold `fieldCount` elements).
    /// Returns the lease's number, lane and position.
    func next(
        timeout: Duration?, coldBoot: Bool, fields: UnsafeMutablePointer<UnsafeRawPointer?>,
        rows: UnsafeMutablePointer<Int64>
    ) throws(ConveyorError) -> (lease: UInt64, lane: Int, position: UInt64) {
        let lease = try consumer.next(timeout: timeout, coldBoot: coldBoot)
        for field in 0..<fieldCount {
            rows[field] = Int64(try lease.rows(of: field))
            // The bytes stay where they are until the lease is released (the slot is the caller's till then).
            fields[field] = try typed { try lease.withUnsafeBytes(of: field) { $0.baseAddress } }
        }
        let number = nextLease
        nextLease += 1
        let place = (lease: number, lane: lease.lane, position: lease.position)
        leases[number] = LeaseBox(lease)
        return place
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

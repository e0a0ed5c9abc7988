/// A ring of typed item slots in shared memory, written by producer
/// processes and read in place by consumer processes.
///
/// The ring has one lane per producer (a single-producer ring of
/// `slotsPerLane` slots). A producer reserves a slot, writes the item's
/// fields into it and commits; a consumer leases the next item, reads it in
/// place and releases it. Nothing is copied and no lock is taken.
///
/// ```swift
/// let schema = try Schema([Field("image", .float32, shape: [1024]), Field("label", .int32, shape: [1])])
/// let ring = try SharedRing.create(schema: schema, lanes: 2, slotsPerLane: 8)
/// // Give ring.descriptor to the producers you spawn (ChildProcess inheriting:),
/// // or use a named ring and give them ring.name.
/// let consumer = try ring.consumer()
/// let lease = try consumer.next(timeout: .seconds(5))
/// let first = try lease.withSpan(of: "image", as: Float.self) { $0[0] }
/// ```
///
/// Everything the segment holds is treated as untrusted: attaching validates
/// the whole layout, and row counts are checked whenever they are read.
public final class SharedRing: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init; the shared
    // words they address are accessed atomically (RingMemory).
    let segment: SharedSegment
    let layout: RingLayout
    let memory: RingMemory
    private let fieldTable: UnsafeMutableBufferPointer<RingLayout.FieldGeometry>

    /// How a new ring's segment is made.
    public enum Naming: Sendable, Hashable {
        /// An anonymous memory file (memfd): processes get it by inheriting
        /// `descriptor`; nothing is left in /dev/shm whoever crashes.
        case anonymous
        /// A named segment in /dev/shm (mode 0600), unlinked when the ring
        /// that created it is released. nil picks a name nobody can guess.
        case named(String?)
    }

    /// The prefix of every default segment name: "conveyor-ring-PID-RANDOM".
    public static let namePrefix = "conveyor-ring-"

    init(segment: consuming SharedSegment, layout: RingLayout) {
        let geometry = layout.fieldGeometry
        fieldTable = .allocate(capacity: geometry.count)
        _ = fieldTable.initialize(from: geometry)
        self.layout = layout
        self.memory = RingMemory(base: segment.base, geometry: layout.geometry,
                                 fields: UnsafePointer(fieldTable.baseAddress!), fieldCount: geometry.count,
                                 truncatedFlag: segment.sizeGuard.flag)
        self.segment = segment
    }

    deinit {
        fieldTable.deallocate()
    }

    /// Creates a ring of `lanes` lanes (one per producer) of `slotsPerLane`
    /// slots (at least 2), each holding one item of `schema` at its maximum
    /// size. The whole segment is reserved now: too little shared memory is
    /// `.insufficientSharedMemory` here, never a crash later.
    public static func create(
        schema: Schema, lanes: Int, slotsPerLane: Int, naming: Naming = .anonymous
    ) throws(ConveyorError) -> SharedRing {
        let layout = try RingLayout(schema: schema, laneCount: lanes, slotsPerLane: slotsPerLane)
        let segment: SharedSegment
        switch naming {
        case .anonymous:
            segment = try SharedSegment.createAnonymous(size: layout.totalBytes, label: "conveyor-ring")
        case let .named(name):
            segment = try SharedSegment.createNamed(name ?? defaultName(), size: layout.totalBytes)
        }
        layout.initialize(segment.base, creatorPID: SystemCalls.processID(), creatorStartTime: PeerLiveness.ownStartTime)
        let ring = SharedRing(segment: segment, layout: layout)
        ConveyorLog.logger.debug("ring created", metadata: [
            "segment": "\(ring.name ?? "anonymous")", "bytes": "\(layout.totalBytes)", "lanes": "\(lanes)"])
        return ring
    }

    /// Attaches to the ring behind `descriptor` (inherited from its creator);
    /// the caller keeps its descriptor. With `schema`, the ring must hold
    /// exactly that schema (`.schemaMismatch` otherwise).
    public static func attach(descriptor: Int32, expecting schema: Schema?) throws(ConveyorError) -> SharedRing {
        try validated(SharedSegment.attach(descriptor: descriptor, prefix: RingLayout.maxHeaderBytes) {
            (fileSize, head) throws(ConveyorError) in try ringBytes(fileSize: fileSize, head: head, expecting: schema)
        }, expecting: schema)
    }

    /// Attaches to the named ring `name` (as in `name`, without "/dev/shm/").
    public static func attach(name: String, expecting schema: Schema?) throws(ConveyorError) -> SharedRing {
        try validated(SharedSegment.attach(name: name, prefix: RingLayout.maxHeaderBytes) {
            (fileSize, head) throws(ConveyorError) in try ringBytes(fileSize: fileSize, head: head, expecting: schema)
        }, expecting: schema)
    }

    /// The bytes to map: the header's `totalBytes`, once the header (read
    /// from the file, not mapped) is valid. A longer file is fine.
    static func ringBytes(
        fileSize: Int, head: UnsafeRawBufferPointer, expecting schema: Schema?
    ) throws(ConveyorError) -> Int {
        guard let start = head.baseAddress else { throw .corruptSegment("the segment is empty (0 bytes)") }
        return try RingLayout.validate(start, size: fileSize, readable: head.count, expected: schema).totalBytes
    }

    /// Validates the mapped header again (what is mapped is what counts).
    private static func validated(
        _ segment: consuming SharedSegment, expecting schema: Schema?
    ) throws(ConveyorError) -> SharedRing {
        let layout = try RingLayout.validate(
            UnsafeRawPointer(segment.base), size: segment.size, readable: segment.size, expected: schema)
        return SharedRing(segment: segment, layout: layout)
    }

    private static func defaultName() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = String(generator.next() as UInt64, radix: 16)
        return namePrefix + "\(SystemCalls.processID())-" + String(repeating: "0", count: 16 - random.count) + random
    }

    /// The item schema.
    public var schema: Schema { layout.schema }
    /// Lanes, that is, producers at most.
    public var laneCount: Int { layout.laneCount }
    /// Slots in each lane.
    public var slotsPerLane: Int { layout.slotsPerLane }
    /// The segment's size in bytes.
    public var byteCount: Int { layout.totalBytes }
    /// The segment's descriptor (close-on-exec), valid while this ring lives;
    /// pass it to `ChildProcess.spawn(inheriting:)` to share the ring.
    public var descriptor: Int32 { segment.descriptor }
    /// The segment's name in /dev/shm, for a named ring.
    public var name: String? { segment.name }

    /// Whether another process shrank the segment's file under this process
    /// (its contents are lost; every ring operation now throws `.segmentTruncated`).
    public var isTruncated: Bool { memory.isTruncated }

    /// The error for a segment truncated under this process.
    var truncationError: ConveyorError { .segmentTruncated(segment: segment.displayName) }

    /// Claims a lane and returns its producer: lane `lane` when given (it
    /// must be free, or its producer dead), else the first free lane.
    /// Throws `.unavailable` when no lane can be claimed.
    public func producer(lane: Int? = nil) throws(ConveyorError) -> RingProducer {
        try RingProducer(ring: self, requestedLane: lane)
    }

    /// Attaches a consumer. `order` `.ordered` reads lanes round-robin, so
    /// producer w's k-th item is item k × lanes + w; `.unordered` takes
    /// whichever lane is ready. All consumers of a ring should use one order.
    public func consumer(order: RingConsumer.Order = .unordered) throws(ConveyorError) -> RingConsumer {
        try RingConsumer(ring: self, order: order)
    }

    /// Empties the ring for every attached process: items committed and not
    /// yet taken are dropped (and counted as discarded), producers waiting
    /// in `reserve` or about to commit get `.ringReset`, finished lanes are
    /// reopened (free for new producers: a new stream begins), and ordered
    /// reading starts again at the next item of lane 0. Leases already
    /// handed out stay valid until released, and so does an item a consumer
    /// is taking at that instant (the reset waits for it, at most 1 s a lane;
    /// a consumer stopped there keeps its lane's items from the reset).
    public func reset() {
        memory.reset(by: .own) { PeerIdentity(word: $0)?.hasEnded ?? false }
    }
}

/// Every offset of the shared ring's segment, and the validation of an
/// attached one. No other file computes an offset. docs/FORMAT.md describes
/// the same layout in prose; keep the two in step.
///
/// Segment = ring header | field table | lane headers | slots.
/// All integers are little-endian (the only byte order this build runs on).
struct RingLayout: Sendable, Equatable {
    // MARK: Format constants

    /// "CONVRING" read as a little-endian UInt64.
    static let magic: UInt64 = 0x474E_4952_564E_4F43
    /// The format version this build reads and writes.
    static let version: UInt32 = 4
    /// Consumers that can be attached at once (entries in the consumer table).
    static let consumerCapacity = 32
    static let maxLanes = 256
    static let slotsPerLaneRange = 2...(1 << 20)
    static let maxFields = 64
    static let maxFieldNameBytes = 47
    static let maxRank = 8
    /// No segment may exceed 64 TiB (guards every size computation against overflow).
    static let maxTotalBytes = 1 << 46

    // MARK: Ring header (offset 0)

    enum Header {
        static let magic = 0            // u64
        static let version = 8          // u32
        static let headerBytes = 12     // u32: where the lane headers begin
        static let laneCount = 16       // u32
        static let slotsPerLane = 20    // u32
        static let fieldCount = 24      // u32
        static let consumerCapacity = 28 // u32
        static let slotBytes = 32       // u64: slot stride
        static let slotHeaderBytes = 40 // u64
        static let payloadBytes = 48    // u64
        static let laneHeaderBytes = 56 // u64
        static let slotsOffset = 64     // u64
        static let totalBytes = 72      // u64
        static let creatorPID = 80      // u32
        static let checksum = 84        // u32: FNV-1a over [0, 84) + [88, 128) + field table
        static let creatorStartTime = 88 // u64: /proc start time of the creator, in clock ticks
        /// Bytes 96..<128 are reserved (zero). Everything below 128 never changes after creation.
        static let immutableBytes = 128

        // Mutable, each group on its own 64-byte line.
        static let dataSequence = 128   // u32 futex word: consumers wait here for items
        static let dataSleepers = 132   // u32
        static let epoch = 192          // u64: bumped by every reset
        static let orderTicket = 200    // u64: ordered mode's next item number
        static let consumersEver = 208  // u32: consumers that ever attached
        static let consumerChanges = 212 // u32: bumped by every consumer registering or leaving
        static let consumerTable = 256  // consumerCapacity × ConsumerEntry.bytes
    }

    /// One entry of the consumer table: who is attached as a consumer.
    enum ConsumerEntry {
        static let bytes = 16
        static let identity = 0         // u64 process word (PeerIdentity): pid | start tag << 32; 0 = free
        static let startTime = 8        // u64: full /proc start time (informational)
    }

    /// One entry of the field table (after the consumer table).
    enum FieldEntry {
        static let bytes = 128
        static let name = 0             // 48 bytes: UTF-8, zero-padded, at most 47 bytes
        static let dtype = 48           // u8: DType.code
        static let rank = 49            // u8: 0 (scalar) ... 8
        static let payloadOffset = 56   // u64: where the field starts in a slot's payload
        static let dimensions = 64      // 8 × u64, unused ones zero
    }

    static let fieldTableOffset = Header.consumerTable + consumerCapacity * ConsumerEntry.bytes
    /// The most a valid header and field table can take: what attaching reads before it maps.
    static let maxHeaderBytes = fieldTableOffset + maxFields * FieldEntry.bytes

    // MARK: Lane header (256 bytes each)

    enum Lane {
        static let bytes = 256
        // Producer's line.
        static let owner = 0            // u64 process word (PeerIdentity) | finished << 63; 0 = free
        static let ownerStartTime = 8   // u64: the owner's full /proc start time (informational)
        static let head = 16            // u64: next position the producer writes = items committed
        static let claimedAt = 24       // u64: CLOCK_MONOTONIC ns when the owner claimed the lane
        // Consumers' line.
        static let tail = 64            // u64: next position a consumer takes
        static let base = 72            // u64: ordered mode's first position after the last reset
        static let discarded = 80       // u64: items dropped by resets
        // The producer's wait line.
        static let spaceSequence = 128  // u32 futex word: the producer waits here for a free slot
        static let spaceSleepers = 132  // u32
    }

    // MARK: Slot (slotBytes each: header, then payload)

    enum Slot {
        static let sequence = 0         // u64: the slot's state, see FORMAT.md
        static let holder = 8           // u64: the lease holder's process word, 0 = none
        static let rows = 64            // u32 per field: rows the item holds
    }

    // MARK: Derived layout

    let schema: Schema
    let laneCount: Int
    let slotsPerLane: Int
    let headerBytes: Int
    let slotHeaderBytes: Int
    let payloadBytes: Int
    let slotBytes: Int
    let slotsOffset: Int
    let totalBytes: Int
    /// Each field's offset within a slot's payload (64-byte aligned).
    let fieldOffsets: [Int]

    /// The layout for `laneCount` lanes of `slotsPerLane` slots holding items of `schema`.
    init(schema: Schema, laneCount: Int, slotsPerLane: Int) throws(ConveyorError) {
        guard (1...RingLayout.maxLanes).contains(laneCount) else {
            throw .invalidArgument("lanes must be 1...\(RingLayout.maxLanes), not \(laneCount)")
        }
        guard RingLayout.slotsPerLaneRange.contains(slotsPerLane) else {
            throw .invalidArgument("slots per lane must be \(RingLayout.slotsPerLaneRange), not \(slotsPerLane)")
        }
        guard schema.fields.count <= RingLayout.maxFields else {
            throw .invalidArgument("a ring holds at most \(RingLayout.maxFields) fields, not \(schema.fields.count)")
        }
        var offset = 0
        var offsets: [Int] = []
        for field in schema.fields {
            guard field.name.utf8.count <= RingLayout.maxFieldNameBytes else {
                throw .invalidArgument("field name '\(field.name)' is longer than \(RingLayout.maxFieldNameBytes) bytes")
            }
            guard field.shape.count <= RingLayout.maxRank else {
                throw .invalidArgument("field '\(field.name)' has \(field.shape.count) dimensions; at most \(RingLayout.maxRank)")
            }
            guard let bytes = RingLayout.checkedProduct([field.dtype.size] + field.shape),
                  let end = RingLayout.checkedSum(offset, bytes)
            else { throw .invalidArgument("field '\(field.name)' is too large for a ring") }
            offsets.append(offset)
            offset = RingLayout.alignUp(end, 64)
        }
        let slotHeaderBytes = RingLayout.alignUp(Slot.rows + 4 * schema.fields.count, 64)
        let headerBytes = RingLayout.alignUp(RingLayout.fieldTableOffset + FieldEntry.bytes * schema.fields.count, 64)
        let payloadBytes = max(64, offset)
        let slotBytes = slotHeaderBytes + payloadBytes
        let slotsOffset = RingLayout.alignUp(headerBytes + Lane.bytes * laneCount, 4096)
        guard let slotArea = RingLayout.checkedProduct([laneCount, slotsPerLane, slotBytes]),
              let total = RingLayout.checkedSum(slotsOffset, slotArea)
        else { throw .invalidArgument("the ring would exceed \(ByteCount(RingLayout.maxTotalBytes))") }
        self.schema = schema
        self.laneCount = laneCount
        self.slotsPerLane = slotsPerLane
        self.headerBytes = headerBytes
        self.slotHeaderBytes = slotHeaderBytes
        self.payloadBytes = payloadBytes
        self.slotBytes = slotBytes
        self.slotsOffset = slotsOffset
        self.totalBytes = total
        self.fieldOffsets = offsets
    }

    /// Where the slot for `position` in `lane` starts (position mod slotsPerLane).
    func slotOffset(lane: Int, position: UInt64) -> Int { geometry.slotOffset(lane: lane, position: position) }

    /// Where field `field` of a slot starts, relative to the slot.
    func fieldOffsetInSlot(_ field: Int) -> Int { slotHeaderBytes + fieldOffsets[field] }

    /// The numbers the hot paths need, as plain values (no arrays, nothing reference-counted).
    var geometry: Geometry {
        Geometry(laneCount: laneCount, slotsPerLane: slotsPerLane, headerBytes: headerBytes,
                 slotsOffset: slotsOffset, slotBytes: slotBytes)
    }

    /// The lane and slot arithmetic of a layout, as plain values.
    struct Geometry: Sendable, Equatable {
        let laneCount: Int
        let slotsPerLane: Int
        let headerBytes: Int
        let slotsOffset: Int
        let slotBytes: Int

        @inline(__always)
        func laneOffset(_ lane: Int) -> Int { headerBytes + lane * Lane.bytes }

        @inline(__always)
        func slotOffset(lane: Int, position: UInt64) -> Int {
            let index = Int(position % UInt64(slotsPerLane))
            return slotsOffset + (lane * slotsPerLane + index) * slotBytes
        }

        /// The bytes of all of `lane`'s slots, relative to the segment.
        func slotBytes(ofLane lane: Int) -> Range<Int> {
            let start = slotsOffset + lane * slotsPerLane * slotBytes
            return start..<(start + slotsPerLane * slotBytes)
        }
    }

    /// One field's place and size in a slot, as plain values.
    struct FieldGeometry: Sendable {
        /// Where the field's data starts, relative to the slot.
        let offsetInSlot: Int
        let maxRows: Int
        let scalarsPerRow: Int
        let bytesPerRow: Int
        let dtype: DType
    }

    /// Every field's geometry, in schema order.
    var fieldGeometry: [FieldGeometry] {
        schema.fields.indices.map { index in
            let field = schema.fields[index]
            return FieldGeometry(offsetInSlot: fieldOffsetInSlot(index), maxRows: field.maxRows,
                                 scalarsPerRow: field.scalarsPerRow, bytesPerRow: field.bytesPerRow, dtype: field.dtype)
        }
    }

    /// Where consumer table entry `index` starts.
    static func consumerOffset(_ index: Int) -> Int { Header.consumerTable + index * ConsumerEntry.bytes }

    /// Where field table entry `index` starts.
    static func fieldEntryOffset(_ index: Int) -> Int { fieldTableOffset + index * FieldEntry.bytes }

    // MARK: Writing a new segment

    /// Writes the header, field table and initial slot states into a zero-filled segment.
    func initialize(_ base: UnsafeMutableRawPointer, creatorPID: Int32, creatorStartTime: UInt64) {
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        }
        put(RingLayout.magic, at: Header.magic)
        put(RingLayout.version, at: Header.version)
        put(UInt32(headerBytes), at: Header.headerBytes)
        put(UInt32(laneCount), at: Header.laneCount)
        put(UInt32(slotsPerLane), at: Header.slotsPerLane)
        put(UInt32(schema.fields.count), at: Header.fieldCount)
        put(UInt32(RingLayout.consumerCapacity), at: Header.consumerCapacity)
        put(UInt64(slotBytes), at: Header.slotBytes)
        put(UInt64(slotHeaderBytes), at: Header.slotHeaderBytes)
        put(UInt64(payloadBytes), at: Header.payloadBytes)
        put(UInt64(Lane.bytes), at: Header.laneHeaderBytes)
        put(UInt64(slotsOffset), at: Header.slotsOffset)
        put(UInt64(totalBytes), at: Header.totalBytes)
        put(UInt32(bitPattern: creatorPID), at: Header.creatorPID)
        put(creatorStartTime, at: Header.creatorStartTime)
        for (index, field) in schema.fields.enumerated() {
            let entry = RingLayout.fieldEntryOffset(index)
            for (byte, value) in field.name.utf8.enumerated() {
                put(value, at: entry + FieldEntry.name + byte)
            }
            put(field.dtype.code, at: entry + FieldEntry.dtype)
            put(UInt8(field.shape.count), at: entry + FieldEntry.rank)
            put(UInt64(fieldOffsets[index]), at: entry + FieldEntry.payloadOffset)
            for (dimension, extent) in field.shape.enumerated() {
                put(UInt64(extent), at: entry + FieldEntry.dimensions + 8 * dimension)
            }
        }
        put(RingLayout.checksum(UnsafeRawPointer(base), fieldCount: schema.fields.count), at: Header.checksum)
        for lane in 0..<laneCount {
            for index in 0..<slotsPerLane {
                put(UInt64(index), at: slotOffset(lane: lane, position: UInt64(index)) + Slot.sequence)
            }
        }
    }

    // MARK: Reading a header

    /// Whether `bytes` begin with the ring's magic number ("CONVRING").
    static func startsWithMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 8 && UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: Header.magic, as: UInt64.self)) == magic
    }

    /// The creator's pid and /proc start time, from a header's immutable
    /// bytes (at least `Header.immutableBytes` of them at `header`).
    static func creator(_ header: UnsafeRawPointer) -> (pid: Int32, startTime: UInt64) {
        (Int32(bitPattern: UInt32(littleEndian: header.loadUnaligned(fromByteOffset: Header.creatorPID, as: UInt32.self))),
         UInt64(littleEndian: header.loadUnaligned(fromByteOffset: Header.creatorStartTime, as: UInt64.self)))
    }

    // MARK: Validating an attached segment

    /// Reads and checks the layout of the `size` bytes at `base`, all readable.
    static func validate(_ base: UnsafeRawPointer, size: Int, expected: Schema?) throws(ConveyorError) -> RingLayout {
        try validate(base, size: size, readable: size, expected: expected)
    }

    /// Reads and checks the layout of a segment of `size` bytes whose first
    /// `readable` bytes are at `base` (they may hold anything; at least the
    /// header and field table when the segment has them). Throws
    /// `.foreignSegment`, `.versionMismatch`, `.corruptSegment` or (when
    /// `expected` is given and differs) `.schemaMismatch`.
    static func validate(
        _ base: UnsafeRawPointer, size: Int, readable: Int, expected: Schema?
    ) throws(ConveyorError) -> RingLayout {
        guard readable >= min(size, maxHeaderBytes) else {
            throw .corruptSegment("only \(readable) of its first \(min(size, maxHeaderBytes)) bytes could be read")
        }
        func get<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
            T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        guard size >= 8 else { throw .corruptSegment("it holds \(size) bytes, fewer than the 8-byte magic number") }
        let magic = get(Header.magic, as: UInt64.self)
        guard magic == RingLayout.magic else {
            let hex = (0..<8).map { String(get($0, as: UInt8.self), radix: 16) }.joined(separator: " ")
            throw .foreignSegment("its first bytes are \(hex), not 'CONVRING'")
        }
        guard size >= Header.immutableBytes else {
            throw .corruptSegment("truncated: \(size) bytes, fewer than the \(Header.immutableBytes)-byte header")
        }
        let version = get(Header.version, as: UInt32.self)
        guard version == RingLayout.version else { throw .versionMismatch(found: version, expected: RingLayout.version) }
        let fieldCount = Int(get(Header.fieldCount, as: UInt32.self))
        let laneCount = Int(get(Header.laneCount, as: UInt32.self))
        let slotsPerLane = Int(get(Header.slotsPerLane, as: UInt32.self))
        guard (1...maxFields).contains(fieldCount) else { throw .corruptSegment("field count \(fieldCount) is impossible") }
        guard get(Header.consumerCapacity, as: UInt32.self) == UInt32(consumerCapacity) else {
            throw .corruptSegment("consumer table size \(get(Header.consumerCapacity, as: UInt32.self)) is not \(consumerCapacity)")
        }
        let tableEnd = fieldEntryOffset(fieldCount)
        guard size >= tableEnd else {
            throw .corruptSegment("truncated: \(size) bytes, fewer than the \(tableEnd)-byte header and field table")
        }
        let stored = get(Header.checksum, as: UInt32.self)
        let computed = checksum(base, fieldCount: fieldCount)
        guard stored == computed else {
            throw .corruptSegment("header checksum is \(stored) but the header's bytes give \(computed)")
        }

        var fields: [Field] = []
        for index in 0..<fieldCount {
            fields.append(try readField(base + fieldEntryOffset(index), index: index))
        }
        let schema: Schema
        let layout: RingLayout
        do {
            schema = try Schema(fields)
            layout = try RingLayout(schema: schema, laneCount: laneCount, slotsPerLane: slotsPerLane)
        } catch {
            throw .corruptSegment("its header describes an impossible ring (\(error))")
        }
        let checks: [(String, Int, Int)] = [
            ("header size", Int(get(Header.headerBytes, as: UInt32.self)), layout.headerBytes),
            ("slot size", Int(truncatingIfNeeded: get(Header.slotBytes, as: UInt64.self)), layout.slotBytes),
            ("slot header size", Int(truncatingIfNeeded: get(Header.slotHeaderBytes, as: UInt64.self)), layout.slotHeaderBytes),
            ("payload size", Int(truncatingIfNeeded: get(Header.payloadBytes, as: UInt64.self)), layout.payloadBytes),
            ("lane header size", Int(truncatingIfNeeded: get(Header.laneHeaderBytes, as: UInt64.self)), Lane.bytes),
            ("slots offset", Int(truncatingIfNeeded: get(Header.slotsOffset, as: UInt64.self)), layout.slotsOffset),
            ("total size", Int(truncatingIfNeeded: get(Header.totalBytes, as: UInt64.self)), layout.totalBytes),
        ] + layout.fieldOffsets.indices.map { index in
            ("offset of field \(index)",
             Int(truncatingIfNeeded: get(fieldEntryOffset(index) + FieldEntry.payloadOffset, as: UInt64.self)),
             layout.fieldOffsets[index])
        }
        for (what, found, expected) in checks where found != expected {
            throw .corruptSegment("its \(what) is \(found) but its schema and sizes give \(expected)")
        }
        guard size >= layout.totalBytes else {
            throw .corruptSegment("truncated: \(size) bytes, but its layout needs \(layout.totalBytes)")
        }
        if let expected, expected != schema {
            throw .schemaMismatch(expected: expected.description, found: schema.description)
        }
        return layout
    }

    private static func readField(_ entry: UnsafeRawPointer, index: Int) throws(ConveyorError) -> Field {
        let nameBytes = UnsafeRawBufferPointer(start: entry + FieldEntry.name, count: maxFieldNameBytes + 1)
        let length = nameBytes.firstIndex(of: 0) ?? nameBytes.count
        guard length > 0, length <= maxFieldNameBytes, nameBytes[length...].allSatisfy({ $0 == 0 }),
              let name = String(validating: nameBytes[..<length], as: UTF8.self)
        else { throw .corruptSegment("field \(index) has no valid name") }
        guard let dtype = DType(code: entry.load(fromByteOffset: FieldEntry.dtype, as: UInt8.self)) else {
            throw .corruptSegment("field '\(name)' has unknown dtype code \(entry.load(fromByteOffset: FieldEntry.dtype, as: UInt8.self))")
        }
        let rank = Int(entry.load(fromByteOffset: FieldEntry.rank, as: UInt8.self))
        guard rank <= maxRank else { throw .corruptSegment("field '\(name)' has rank \(rank)") }
        var shape: [Int] = []
        for dimension in 0..<maxRank {
            let extent = UInt64(littleEndian: entry.loadUnaligned(
                fromByteOffset: FieldEntry.dimensions + 8 * dimension, as: UInt64.self))
            if dimension < rank {
                guard extent >= 1, extent <= UInt64(maxTotalBytes) else {
                    throw .corruptSegment("field '\(name)' has dimension \(extent)")
                }
                shape.append(Int(extent))
            } else if extent != 0 {
                throw .corruptSegment("field '\(name)' has a dimension beyond its rank \(rank)")
            }
        }
        return Field(name, dtype, shape: shape)
    }

    /// FNV-1a (32-bit) over the immutable header (without the checksum word) and the field table.
    static func checksum(_ base: UnsafeRawPointer, fieldCount: Int) -> UInt32 {
        var hash: UInt32 = 0x811C_9DC5
        func mix(_ range: Range<Int>) {
            for offset in range {
                hash = (hash ^ UInt32(base.load(fromByteOffset: offset, as: UInt8.self))) &* 0x0100_0193
            }
        }
        mix(0..<Header.checksum)
        mix((Header.checksum + 4)..<Header.immutableBytes)
        mix(fieldTableOffset..<fieldEntryOffset(fieldCount))
        return hash
    }

    // MARK: Arithmetic

    static func alignUp(_ value: Int, _ alignment: Int) -> Int {
        (value + alignment - 1) / alignment * alignment
    }

    static func checkedProduct(_ factors: [Int]) -> Int? {
        var product = 1
        for factor in factors {
            let (result, overflow) = product.multipliedReportingOverflow(by: factor)
            guard !overflow, result <= maxTotalBytes else { return nil }
            product = result
        }
        return product
    }

    static func checkedSum(_ a: Int, _ b: Int) -> Int? {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow || sum > maxTotalBytes ? nil : sum
    }
}

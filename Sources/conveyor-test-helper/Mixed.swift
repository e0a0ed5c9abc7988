import Conveyor

/// The foreign-peer test's schema and item pattern, shared with the Python
/// peer (Tests/ForeignPeers/format_peer.py, which states the same rule):
///
/// For item k and field j with maximum rows R, the item holds
/// (k + j) mod (R + 1) rows (a rank-0 field: 1). Scalar i of those rows has
/// v = (k·131 + j·17 + i) mod 200 and holds `v - 100` scaled to its dtype:
/// floats (v − 100)/8, i32 (v − 100)·2·10⁷, i64 (v − 100)·10¹⁶, u8 v.
/// Every value is exact in its dtype, so any misplaced byte shows.
enum Mixed {
    /// Several dtypes, ranks 0 to 3, and odd sizes (so fields need padding).
    static func schema() throws -> Schema {
        try Schema([Field("image", .float32, shape: [3, 4, 5]),
                    Field("label", .int32, shape: []),
                    Field("tokens", .uint8, shape: [37]),
                    Field("half", .float16, shape: [6, 3]),
                    Field("ids", .int64, shape: [5, 2])])
    }

    /// Rows field `index` holds in item k.
    static func rows(_ field: Field, index: Int, k: Int) -> Int {
        field.shape.isEmpty ? 1 : (k + index) % (field.maxRows + 1)
    }

    /// The pattern's v for scalar `scalar` of field `field` in item k.
    static func v(k: Int, field: Int, scalar: Int) -> Int { (k * 131 + field * 17 + scalar) % 200 }

    /// Produces items k = --start ..< --start + --count on a lane (--lane, or the first free one).
    static func produce(_ ring: SharedRing, _ options: Options) throws {
        let producer = try ring.producer(lane: options.optionalInt("--lane"))
        let start = options.int("--start", 0), count = options.int("--count", 0)
        say("claimed lane \(producer.lane)")
        for k in start..<(start + count) {
            var writer = try producer.reserve(timeout: .seconds(60))
            for (j, field) in ring.schema.fields.enumerated() {
                let rows = rows(field, index: j, k: k)
                let scalars = rows * field.scalarsPerRow
                switch field.dtype {
                case .float32: try fill(writer, j, scalars, k) { Float($0 - 100) / 8 }
                case .int32: try fill(writer, j, scalars, k) { Int32(($0 - 100) * 20_000_000) }
                case .uint8: try fill(writer, j, scalars, k) { UInt8($0) }
                case .int64: try fill(writer, j, scalars, k) { Int64($0 - 100) * 10_000_000_000_000_000 }
                #if !(os(macOS) && arch(x86_64))
                case .float16: try fill(writer, j, scalars, k) { Float16(Float($0 - 100) / 8) }
                #endif
                default: throw ConveyorError.invalidArgument("the mixed pattern has no rule for \(field.dtype)")
                }
                try writer.setRows(rows, of: j)
            }
            try writer.commit()
        }
        say("produced \(count)")
    }

    /// Consumes --count items, expecting k = --start, --start + 1, ... in turn
    /// (one producing lane), and reports how many were not intact.
    static func consume(_ ring: SharedRing, _ options: Options) throws {
        let consumer = try ring.consumer()
        let start = options.int("--start", 0), count = options.int("--count", 0)
        let timeout = Duration.milliseconds(options.int("--timeout-ms", 20_000))
        var corrupt = 0
        for k in start..<(start + count) {
            let lease = try consumer.next(timeout: timeout)
            var good = true
            for (j, field) in ring.schema.fields.enumerated() {
                guard try lease.rows(of: j) == rows(field, index: j, k: k) else {
                    good = false
                    continue
                }
                let intact: Bool
                switch field.dtype {
                case .float32: intact = try matches(lease, j, k) { Float($0 - 100) / 8 }
                case .int32: intact = try matches(lease, j, k) { Int32(($0 - 100) * 20_000_000) }
                case .uint8: intact = try matches(lease, j, k) { UInt8($0) }
                case .int64: intact = try matches(lease, j, k) { Int64($0 - 100) * 10_000_000_000_000_000 }
                #if !(os(macOS) && arch(x86_64))
                case .float16: intact = try matches(lease, j, k) { Float16(Float($0 - 100) / 8) }
                #endif
                default: throw ConveyorError.invalidArgument("the mixed pattern has no rule for \(field.dtype)")
                }
                if !intact { good = false }
            }
            if !good {
                corrupt += 1
                say("item \(k) (lane \(lease.lane) position \(lease.position)) is not intact", to: 2)
            }
        }
        say("consumed \(count) corrupt \(corrupt)")
    }

    private static func fill<T: DTypeScalar>(
        _ writer: borrowing RingWriter, _ field: Int, _ scalars: Int, _ k: Int, _ value: (Int) -> T
    ) throws {
        try writer.withMutableSpan(of: field, as: T.self) { span in
            for i in 0..<scalars { span[i] = value(v(k: k, field: field, scalar: i)) }
        }
    }

    private static func matches<T: DTypeScalar & Equatable>(
        _ lease: borrowing RingLease, _ field: Int, _ k: Int, _ value: (Int) -> T
    ) throws -> Bool {
        try lease.withSpan(of: field, as: T.self) { span in
            span.indices.allSatisfy { span[$0] == value(v(k: k, field: field, scalar: $0)) }
        }
    }
}

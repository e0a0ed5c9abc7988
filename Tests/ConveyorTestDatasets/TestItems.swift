import Conveyor

/// The ring items the test helper writes and the tests and the torture
/// suite check: schema "f" f32[floats], "i" i32[ints]; item k holds
/// `floatRows(k)` float rows and `intRows(k)` int rows, every value equal to
/// k, so a torn, stale or misplaced write shows.
///
/// With `zeroRows`, some items hold 0 rows in a field (both fields, for
/// some k): every reader of a row count must handle that. An item with no
/// rows at all cannot say which k it is; checkers count it as empty.
public struct TestItems: Sendable, Hashable {
    /// Whether items with 0 rows in a field are made.
    public var zeroRows: Bool

    /// The pattern, with or without 0-row items.
    public init(zeroRows: Bool = false) {
        self.zeroRows = zeroRows
    }

    /// The schema "f" f32[floats], "i" i32[ints].
    public static func schema(floats: Int = 64, ints: Int = 4) throws -> Schema {
        try Schema([Field("f", .float32, shape: [floats]), Field("i", .int32, shape: [ints])])
    }

    /// Float rows of item k: varies over 1...maximum (0...maximum with `zeroRows`).
    public func floatRows(_ k: Int, maximum: Int) -> Int {
        zeroRows ? k % (maximum + 1) : 1 + k % maximum
    }

    /// Int rows of item k: all of them (none for every fifth k with `zeroRows`).
    public func intRows(_ k: Int, maximum: Int) -> Int {
        zeroRows && k % 5 == 0 ? 0 : maximum
    }

    /// Writes item k in place.
    public func write(_ k: Int, into writer: inout RingWriter) throws {
        let floats = floatRows(k, maximum: writer.schema.fields[0].maxRows)
        let ints = intRows(k, maximum: writer.schema.fields[1].maxRows)
        try writer.withMutableSpan(of: 0, as: Float.self) { span in
            for index in 0..<floats { span[index] = Float(k) }
        }
        try writer.withMutableSpan(of: 1, as: Int32.self) { span in
            for index in 0..<ints { span[index] = Int32(k) }
        }
        try writer.setRows(floats, of: 0)
        try writer.setRows(ints, of: 1)
    }

    /// The k of a leased item, from whichever field holds rows; nil when
    /// neither does. Reads no row a field does not hold.
    public func identity(of lease: borrowing RingLease) throws -> Int? {
        if try lease.rows(of: 1) > 0 { return try lease.withSpan(of: 1, as: Int32.self) { Int($0[0]) } }
        if try lease.rows(of: 0) > 0 { return try lease.withSpan(of: 0, as: Float.self) { Int($0[0]) } }
        return nil
    }

    /// Whether a leased item is item k, whole: its row counts and every value.
    public func isIntact(_ lease: borrowing RingLease, as k: Int) throws -> Bool {
        let schema = lease.schema
        return try lease.rows(of: 0) == floatRows(k, maximum: schema.fields[0].maxRows)
            && lease.rows(of: 1) == intRows(k, maximum: schema.fields[1].maxRows)
            && lease.withSpan(of: 0, as: Float.self) { span in span.indices.allSatisfy { span[$0] == Float(k) } }
            && lease.withSpan(of: 1, as: Int32.self) { span in span.indices.allSatisfy { span[$0] == Int32(k) } }
    }
}

/// Checks leased `TestItems`: contents, duplicates, and which were seen.
public struct TestItemChecker: Sendable {
    /// The pattern the items follow.
    public var items: TestItems
    /// The k of every item seen.
    public var seen = Set<Int>()
    /// Items whose rows or values were not their k's.
    public var corrupt = 0
    /// Items seen twice.
    public var duplicated = 0
    /// Items with no rows at all (`zeroRows` only): intact, but of unknown k.
    public var empty = 0
    /// Items checked.
    public var checked = 0

    /// A checker of items made with `items`.
    public init(items: TestItems = TestItems()) {
        self.items = items
    }

    /// Checks one leased item; returns its k (nil for an empty item).
    @discardableResult
    public mutating func check(_ lease: borrowing RingLease) throws -> Int? {
        checked += 1
        guard let k = try items.identity(of: lease) else {
            // Intact only if the pattern allows an item with no rows at all.
            if !items.zeroRows { corrupt += 1 }
            empty += 1
            return nil
        }
        if try !items.isIntact(lease, as: k) { corrupt += 1 }
        if !seen.insert(k).inserted { duplicated += 1 }
        return k
    }
}

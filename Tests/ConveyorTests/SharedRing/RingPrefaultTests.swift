import Testing
@testable import Conveyor

/// A producer maps its lane's slots when it claims the lane, so that its
/// first lap writes without a page fault for every 4 KiB (Linux 5.14 and
/// later, MADV_POPULATE_WRITE).
@Suite struct RingPrefaultTests {
    @Test(arguments: [Optional(1), nil])
    func aProducerMapsItsOwnLaneWhenItClaimsIt(requested: Int?) throws {
        let mebibyte = 1 << 20
        let schema = try Schema([Field("f", .uint8, shape: [mebibyte])])
        let ring = try SharedRing.create(schema: schema, lanes: 2, slotsPerLane: 4)
        // A mapping of its own, as a producer process has.
        let attached = try SharedRing.attach(descriptor: ring.descriptor, expecting: schema)
        let before = try #require(residentBytes(ofMappingAt: attached.memory.base))
        let producer = try attached.producer(lane: requested)
        let after = try #require(residentBytes(ofMappingAt: attached.memory.base))
        #expect(producer.lane == (requested ?? 0))
        // The lane's four 1 MiB slots, and not the other lane's.
        #expect(after - before >= 4 * mebibyte)
        #expect(after - before < 6 * mebibyte)
    }

    /// The Rss of this process's mapping that contains `address`, from /proc/self/smaps.
    private func residentBytes(ofMappingAt address: UnsafeMutableRawPointer) -> Int? {
        guard let bytes = SystemCalls.readSmallFile("/proc/self/smaps", limit: 1 << 22) else { return nil }
        let target = UInt(bitPattern: Int(bitPattern: address))
        var inside = false
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let range = fields.first, range.contains("-"), !range.hasSuffix(":") {
                let bounds = range.split(separator: "-").compactMap { UInt($0, radix: 16) }
                inside = bounds.count == 2 && bounds[0] <= target && target < bounds[1]
            } else if inside, fields.first == "Rss:", fields.count >= 2, let kibibytes = Int(fields[1]) {
                return kibibytes * 1024
            }
        }
        return nil
    }
}

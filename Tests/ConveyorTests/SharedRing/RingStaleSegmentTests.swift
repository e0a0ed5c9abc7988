import Foundation
import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// A segment in /dev/shm written by hand: the first 4096 bytes of a ring
/// header of format `version` as docs/FORMAT.md (and its history) lays it
/// out: magic at 0, version at 8, the creator's pid (u32) at 80 and its
/// /proc start time (u64) at 88, the rest zeros. Removed when dropped.
final class HandWrittenSegment {
    let name: String

    init(name: String, version: UInt32, creator: Int32, startTime: UInt64) throws {
        self.name = name
        var bytes = [UInt8](repeating: 0, count: 4096)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        bytes.replaceSubrange(0..<8, with: Array("CONVRING".utf8))
        put(version, at: 8)
        put(UInt32(bitPattern: creator), at: 80)
        put(startTime, at: 88)
        try Data(bytes).write(to: URL(fileURLWithPath: "/dev/shm/" + name), options: .withoutOverwriting)
    }

    deinit { unlink("/dev/shm/" + name) }

    var exists: Bool { access("/dev/shm/" + name, F_OK) == 0 }
}

/// A process that has ended and been reaped: its pid and its /proc start time while it ran.
func deadProcess() throws -> (pid: Int32, startTime: UInt64) {
    let sleeper = try HelperProcess(["60"], executable: "/bin/sleep")
    let startTime = try #require(SystemCalls.processStatus(sleeper.pid)?.startTime)
    try sleeper.child.kill()
    _ = try sleeper.child.wait(timeout: .seconds(30))
    return (sleeper.pid, startTime)
}

// Among the serialized ring suites: removing stale segments removes every
// dead creator's, which the other ring tests make and remove themselves.
extension SharedRingTests {
    /// Segments that crashed programs left behind are found by their magic,
    /// whatever their name and format version, and removed only when the
    /// creator their header names has ended.
    @Suite struct RingStaleSegmentTests {
        @Test func deadCreatorsSegmentsOfEveryKnownFormatVersionAreRemovedWhateverTheirName() throws {
            let dead = try deadProcess()
            let own = try #require(SystemCalls.processStatus(getpid())?.startTime)
            let tag = UInt64.random(in: 0...UInt64.max)
            var stale: [HandWrittenSegment] = []
            var live: [HandWrittenSegment] = []
            for version in SharedRing.knownFormatVersions {
                stale.append(try HandWrittenSegment(name: "stale-test-\(tag)-dead-v\(version)", version: version,
                                                    creator: dead.pid, startTime: dead.startTime))
                live.append(try HandWrittenSegment(name: "stale-test-\(tag)-live-v\(version)", version: version,
                                                   creator: getpid(), startTime: own))
            }
            // A dead creator's segment of a version this build does not know: where its creator is, is unknown.
            let future = try HandWrittenSegment(name: "stale-test-\(tag)-dead-v99", version: 99,
                                                creator: dead.pid, startTime: dead.startTime)
            // A live process's pid, but another start time: that process has ended (its pid was reused).
            let reused = try HandWrittenSegment(name: "stale-test-\(tag)-reused-v1", version: 1,
                                                creator: getpid(), startTime: own + 1)

            let found = SharedRing.staleSegments().filter { $0.name.hasPrefix("stale-test-\(tag)-") }
            #expect(Set(found.map(\.name)) == Set((stale + [reused]).map(\.name)))
            for segment in found {
                #expect(segment.creatorPID == (segment.name == reused.name ? getpid() : dead.pid))
                #expect(segment.byteCount == 4096)
                #expect(segment.formatVersion.map { segment.name.hasSuffix("-v\($0)") } == true, "\(segment)")
            }
            #expect((stale + live + [future, reused]).allSatisfy { $0.exists }, "finding changes nothing")

            let removed = SharedRing.removeStaleSegments()
            #expect(Set(removed).isSuperset(of: (stale + [reused]).map(\.name)))
            #expect(!(stale + [reused]).contains { $0.exists })
            #expect((live + [future]).allSatisfy { $0.exists })
        }

        @Test func aHeaderlessSegmentCountsAsThePidInItsName() throws {
            let dead = try deadProcess()
            let tag = UInt64.random(in: 0...UInt64.max)
            // Step 1 of creation: the file exists, empty or all zeros, and its creator died there.
            let orphan = SharedRing.namePrefix + "\(dead.pid)-\(tag)"
            let young = SharedRing.namePrefix + "\(getpid())-\(tag)"
            let unnamed = "stale-test-\(dead.pid)-\(tag)"
            for name in [orphan, young, unnamed] {
                try Data(count: 4096).write(to: URL(fileURLWithPath: "/dev/shm/" + name), options: .withoutOverwriting)
            }
            defer { for name in [orphan, young, unnamed] { unlink("/dev/shm/" + name) } }

            let found = SharedRing.staleSegments().filter { $0.name.hasSuffix("-\(tag)") }
            #expect(found.map(\.name) == [orphan])
            #expect(found.first?.creatorPID == dead.pid && found.first?.formatVersion == nil)
            // Under another prefix, the pid in the name counts only when that prefix is asked for.
            #expect(SharedRing.staleSegments(namedWith: "stale-test-").map(\.name).contains(unnamed))
        }

        /// The tests' own named segments (`privateSegmentName()`) of a test
        /// process that was killed are removed by the next test process (its
        /// first `privateSegmentName()` calls `removeLeftoverTestSegments()`).
        @Test func leftoversOfKilledTestProcessesAreRemoved() throws {
            let ours = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2,
                                             naming: .named(privateSegmentName()))
            let dead = try deadProcess()
            let leftover = try HandWrittenSegment(
                name: testSegmentPrefix + "\(dead.pid)-\(UInt64.random(in: 0...UInt64.max))",
                version: RingLayout.version, creator: dead.pid, startTime: dead.startTime)
            let removed = removeLeftoverTestSegments()
            #expect(removed.contains(leftover.name))
            #expect(!leftover.exists)
            #expect(!removed.contains(try #require(ours.name)))
            #expect(access("/dev/shm/" + (ours.name ?? ""), F_OK) == 0)
        }
    }
}

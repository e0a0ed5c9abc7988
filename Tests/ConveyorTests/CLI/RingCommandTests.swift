import Foundation
import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

// Among the serialized ring suites: `clean` removes every dead creator's
// segment, which the other ring tests make and remove themselves.
extension SharedRingTests {
    @Suite struct RingCommandTests {
        /// A ring with two producer processes (3 items each, holding their
        /// lanes) and a consumer attached in this process.
        @Test func inspectReportsALiveRingsLanesDepthsAndPidsAndChangesNothing() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 2, slotsPerLane: 4)
            let producers = try (0..<2).map { lane in
                try HelperProcess(["produce", "--start", "\(lane * 100)", "--count", "3", "--lane", "\(lane)", "--hold"],
                                  ring: ring)
            }
            let consumer = try ring.consumer()
            let deadline = ContinuousClock.now + .seconds(60)
            while ring.info.lanes.map(\.committed) != [3, 3], ContinuousClock.now < deadline { usleep(2000) }
            let before = ring.info
            try #require(before.lanes.map(\.committed) == [3, 3])

            let location = "\(getpid()):\(ring.descriptor)"
            let run = try CLIRun(["inspect", location, "--json"], timeout: .seconds(60))
            #expect(run.status == .exited(0), "\(run.stderr)")
            #expect(try run.json()["format"] as? Int == 2)
            let rings = try #require(try run.json()["rings"] as? [[String: Any]])
            try #require(rings.count == 1, "\(run.stdout)")
            let report = rings[0]
            #expect(report["location"] as? String == location)
            #expect(report["kind"] as? String == "anonymous")
            #expect(report["creatorPID"] as? Int == Int(getpid()))
            #expect(report["creatorAlive"] as? Bool == true)
            #expect(report["consumerPIDs"] as? [Int] == [Int(getpid())])
            let holders = Set(report["holders"] as? [String] ?? [])
            #expect(holders.contains(location))
            for producer in producers { #expect(holders.contains { $0.hasPrefix("\(producer.pid):") }) }
            let lanes = try #require(report["lanes"] as? [[String: Any]])
            #expect(lanes.count == 2)
            for (lane, producer) in zip(lanes, producers) {
                #expect(lane["depth"] as? Int == 3)
                #expect(lane["capacity"] as? Int == 4)
                #expect(lane["committed"] as? Int == 3)
                #expect(lane["consumed"] as? Int == 0)
                #expect(lane["producerPID"] as? Int == Int(producer.pid))
                #expect(lane["producerState"] as? String == "running")
                #expect(lane["finished"] as? Bool == false)
            }

            // The text form names the same ring, and the survey finds it without being told where.
            let text = try CLIRun(["inspect", location], timeout: .seconds(60))
            #expect(text.stdout.contains("anonymous (memfd)") && text.stdout.contains("3/4"), "\(text.stdout)")
            let survey = try CLIRun(["inspect", "--json"], timeout: .seconds(60))
            let all = try #require(try survey.json()["rings"] as? [[String: Any]])
            #expect(all.contains { ($0["holders"] as? [String] ?? []).contains(location) }, "\(survey.stdout)")

            // Reading registered no consumer and claimed nothing: the ring is as it was, and still works.
            let after = ring.info
            #expect(after.consumerPIDs == before.consumerPIDs)
            #expect(after.lanes.map(\.producerPID) == before.lanes.map(\.producerPID))
            #expect(after.lanes.map(\.depth) == before.lanes.map(\.depth))
            let lease = try consumer.next(timeout: .seconds(10))
            #expect(lease.lane == 0 || lease.lane == 1)
        }

        @Test func inspectReportsCorruptAndForeignSegmentsWithoutCrashing() throws {
            let corrupt = SharedRing.namePrefix + "\(getpid())-clitestcorrupt"
            let truncated = SharedRing.namePrefix + "\(getpid())-clitesttruncated"
            let foreign = SharedRing.namePrefix + "\(getpid())-clitestforeign"
            // The right magic and version, then garbage: an impossible field count, a wrong checksum.
            let version = withUnsafeBytes(of: RingLayout.version.littleEndian) { Array($0) }
            var header = Array("CONVRING".utf8) + version + [UInt8](repeating: 0xAB, count: 4084)
            try Data(header).write(to: URL(fileURLWithPath: "/dev/shm/" + corrupt))
            header = Array(header.prefix(40))
            try Data(header).write(to: URL(fileURLWithPath: "/dev/shm/" + truncated))
            try Data("not a ring at all\n".utf8).write(to: URL(fileURLWithPath: "/dev/shm/" + foreign))
            defer { for name in [corrupt, truncated, foreign] { unlink("/dev/shm/" + name) } }

            for (name, words) in [(corrupt, "corrupt"), (truncated, "truncated"), (foreign, "not a Conveyor")] {
                let run = try CLIRun(["inspect", name, "--json"], timeout: .seconds(60))
                #expect(run.status == .exited(1), "\(name): \(run.stderr)")
                let problems = try #require(try run.json()["problems"] as? [[String: Any]])
                #expect(problems.count == 1)
                #expect(problems.first?["location"] as? String == name)
                let error = problems.first?["error"] as? String ?? ""
                #expect(error.contains(words), "\(run.stdout)")
            }
            let survey = try CLIRun(["inspect", "--json"], timeout: .seconds(60))
            #expect(survey.status == .exited(0), "\(survey.stderr)")
            let listed = Set((try survey.json()["problems"] as? [[String: Any]] ?? []).compactMap { $0["location"] as? String })
            #expect(listed.isSuperset(of: [corrupt, truncated, foreign]), "\(survey.stdout)")
        }

        @Test func cleanRemovesADeadCreatorsSegmentAndLeavesLiveOnesAndOtherFiles() throws {
            let creator = try HelperProcess(["create-named"])
            let dead = String(try creator.waitForLine("created ").dropFirst("created ".count))
            try creator.child.kill()
            _ = try creator.child.wait(timeout: .seconds(30))
            let live = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2, naming: .named(nil))
            let liveName = try #require(live.name)
            let other = SharedRing.namePrefix + "\(getpid())-clitestother"
            try Data("someone else's file".utf8).write(to: URL(fileURLWithPath: "/dev/shm/" + other))
            defer { unlink("/dev/shm/" + other) }
            func exists(_ name: String) -> Bool { access("/dev/shm/" + name, F_OK) == 0 }

            let dryRun = try CLIRun(["clean", "--dry-run"], timeout: .seconds(60))
            #expect(dryRun.status == .exited(0), "\(dryRun.stderr)")
            #expect(dryRun.stdout.contains("would remove \(dead)"), "\(dryRun.stdout)")
            #expect(exists(dead))

            let clean = try CLIRun(["clean", "--log-level", "info"], timeout: .seconds(60))
            #expect(clean.status == .exited(0), "\(clean.stderr)")
            #expect(clean.stdout.contains("removed \(dead)"), "\(clean.stdout)")
            #expect(clean.stdout.contains("Freed"))
            #expect(clean.stderr.contains("stale segment removed"), "the log line: \(clean.stderr)")
            #expect(!exists(dead))
            #expect(exists(liveName) && exists(other))
            #expect(!clean.stdout.contains(liveName) && !clean.stdout.contains(other))
        }

        @Test func cleanRemovesOlderFormatVersionsOfAnyNameAndSaysWhichVersion() throws {
            let dead = try deadProcess()
            let tag = UInt64.random(in: 0...UInt64.max)
            let old = try [1, 2].map { version in
                try HandWrittenSegment(name: "clean-test-\(tag)-v\(version)", version: UInt32(version),
                                       creator: dead.pid, startTime: dead.startTime)
            }
            let future = try HandWrittenSegment(name: "clean-test-\(tag)-v99", version: 99,
                                                creator: dead.pid, startTime: dead.startTime)

            let dryRun = try CLIRun(["clean", "--dry-run"], timeout: .seconds(60))
            #expect(dryRun.status == .exited(0), "\(dryRun.stderr)")
            for (version, segment) in zip([1, 2], old) {
                let line = dryRun.stdout.split(separator: "\n").first { $0.hasPrefix("would remove \(segment.name) (") }
                #expect(line?.hasSuffix("ring format version \(version); creator pid \(dead.pid) is dead)") == true,
                        "\(dryRun.stdout)")
                #expect(segment.exists)
            }

            let clean = try CLIRun(["clean"], timeout: .seconds(60))
            #expect(clean.status == .exited(0), "\(clean.stderr)")
            for segment in old {
                #expect(clean.stdout.contains("removed \(segment.name) ("), "\(clean.stdout)")
                #expect(!segment.exists)
            }
            #expect(future.exists && !clean.stdout.contains(future.name), "a newer version's creator is unknown: kept")
        }
    }
}

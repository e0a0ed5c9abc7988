import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// The leak check counts exactly this test process's segments: its own, its
/// spawned helpers' (dead or alive) and its live children's, never another
/// run's on the same machine, whose creator may be dead too.
@Suite struct LeakCheckRuleTests {
    /// A ring segment name as `SharedRing` makes them, for creator `pid`.
    private func segmentName(creator pid: Int32) -> String {
        SharedRing.namePrefix + "\(pid)-00000000feedf00d"
    }

    /// Spawns `/bin/true` without the test support (so unrecorded) and reaps it: a dead pid that is not ours.
    private func deadStrangerPid() throws -> Int32 {
        let stranger = try ChildProcess.spawn(executable: "/bin/true")
        _ = try stranger.wait(timeout: .seconds(30))
        return stranger.pid
    }

    @Test func aSegmentOfADeadProcessThatIsNotOursIsIgnored() throws {
        let name = segmentName(creator: try deadStrangerPid())
        #expect(!RingResources.mayBeOurs(name))
        // A real file in /dev/shm under that name, as a crashed run elsewhere would leave.
        let descriptor = open("/dev/shm/" + name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        try #require(descriptor >= 0)
        close(descriptor)
        defer { unlink("/dev/shm/" + name) }
        #expect(!RingResources.now().segments.contains(name))
    }

    @Test func aSegmentOfADeadHelperWeSpawnedIsCounted() throws {
        let helper = try HelperProcess([], executable: "/bin/true")
        _ = try helper.child.wait(timeout: .seconds(30))
        #expect(!helper.child.isRunning)
        #expect(RingResources.mayBeOurs(segmentName(creator: helper.pid)))
    }

    @Test func aSegmentOfALiveChildIsCountedAndOfThisProcessToo() throws {
        let child = try ChildProcess.spawn(executable: "/bin/sleep", arguments: ["60"])
        #expect(RingResources.mayBeOurs(segmentName(creator: child.pid)))
        #expect(RingResources.mayBeOurs(segmentName(creator: getpid())))
        try child.kill()
        _ = try child.wait(timeout: .seconds(30))
        // Dead and never recorded by the test support: no longer ours by the rule.
        #expect(!RingResources.mayBeOurs(segmentName(creator: child.pid)))
    }
}

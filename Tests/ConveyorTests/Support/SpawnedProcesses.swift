@testable import Conveyor

/// Every process the test support spawned in this test process (helpers,
/// python3), by pid, so the leak check can tell a segment of one of ours
/// that died from a segment some other run on the machine left behind.
enum SpawnedProcesses {
    // A pthread lock (`Locked`), not Synchronization.Mutex: ThreadSanitizer cannot see the
    // latter and reported its guarded accesses as races in CI.
    private static let pids = Locked<Set<Int32>>([])

    /// Records `pid` as spawned by this test process.
    static func record(_ pid: Int32) {
        pids.withLock { _ = $0.insert(pid) }
    }

    /// Whether this test process spawned `pid` through the test support.
    static func contains(_ pid: Int32) -> Bool {
        pids.withLock { $0.contains(pid) }
    }
}

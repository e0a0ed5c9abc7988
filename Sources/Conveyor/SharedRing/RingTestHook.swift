import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A pause inside the consumer's take, for the tests that must kill a
/// consumer at that exact step (between its `holder` claim and its `tail`
/// CAS; docs/FORMAT.md, *Taking an item*). Off unless the environment
/// variable `CONVEYOR_TEST_STOP_AFTER_CLAIM` holds a count N ≥ 1 when the
/// process first attaches a ring: then the process stops itself (SIGSTOP)
/// right after its N-th claim, for the test to SIGKILL it there. Read once
/// per process; the item path tests one stored integer.
enum RingTestHook {
    /// The environment variable that arms the hook.
    static let variable = "CONVEYOR_TEST_STOP_AFTER_CLAIM"

    /// N, or 0 when the hook is off.
    static let stopAfterClaim: Int = SystemCalls.environmentValue(variable).flatMap { Int($0) }.map { max(0, $0) } ?? 0

    private static let claims = Atomic<Int>(0)

    /// Called after each claim while the hook is armed: stops this process at the N-th.
    @inline(never)
    static func claimed() {
        guard claims.add(1, ordering: .relaxed).newValue == stopAfterClaim else { return }
        try? SystemCalls.kill(SystemCalls.processID(), SIGSTOP)
    }
}

import Synchronization

/// Ends this process when its parent ends, without polling: a pidfd of the
/// parent, opened once, turns readable when the parent ends, and one thread
/// that sleeps in `poll` on it then calls `_exit(status)`.
///
/// Unlike PR_SET_PDEATHSIG, which fires when the parent *thread* that
/// spawned the child ends (a pool thread may end at any time), this watches
/// the parent process itself. A process binds at most once: a second call
/// for the same parent does nothing.
enum ParentDeathWatch {
    /// The parent this process is bound to, once bound.
    private static let boundParent = Mutex<Int32?>(nil)

    /// Ends this process with `status` when process `parent` ends, and at
    /// once if `parent` is no longer this process's parent. Throws when the
    /// pidfd or the thread cannot be had, or when already bound to another parent.
    static func bind(to parent: Int32, exitStatus status: Int32) throws(ConveyorError) {
        try boundParent.withLock { (bound: inout Int32?) throws(ConveyorError) in
            if let bound {
                guard bound == parent else {
                    throw .invalidArgument(
                        "this process's lifetime is already bound to process \(bound), not \(parent); bind it once")
                }
                return
            }
            let pidfd: Int32
            do throws(ConveyorError) {
                pidfd = try SystemCalls.pidfdOpen(parent)
            } catch .systemCall(_, let code) where code == 3 /* ESRCH */ {
                SystemCalls.exitImmediately(status)
            }
            // The parent may have ended before the open and its pid gone to
            // another process: the pidfd is the parent's only if it is still ours.
            guard SystemCalls.parentProcessID() == parent else {
                SystemCalls.close(pidfd)
                SystemCalls.exitImmediately(status)
            }
            do throws(ConveyorError) {
                // A quiet thread: should the worker fork, the fork waits until it sleeps in poll.
                try SystemCalls.startQuietThread { waitForEnd(of: pidfd, exitStatus: status) }
            } catch {
                SystemCalls.close(pidfd)
                throw error
            }
            bound = parent
        }
    }

    /// Sleeps until `pidfd` turns readable (its process ended), then ends this process.
    private static func waitForEnd(of pidfd: Int32, exitStatus status: Int32) -> Never {
        while true {
            do throws(ConveyorError) {
                if try !SystemCalls.pollReadable([pidfd], timeoutMilliseconds: -1, quietly: true).isEmpty { break }
            } catch {
                // poll on one valid descriptor fails only for lack of memory: try again shortly.
                SystemCalls.sleep(nanoseconds: 10_000_000)
            }
        }
        SystemCalls.exitImmediately(status)
    }
}

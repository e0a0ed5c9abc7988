import CConveyor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Waiting on several sources at once: epoll, and a futex wait on two words
/// (one shared between processes, one private to this process).
extension SystemCalls {
    /// Sleeps while `sharedWord` holds `sharedExpected` and `privateWord`
    /// holds `privateExpected`, for at most `timeoutNanoseconds` (nil: no
    /// limit). Spurious returns are allowed: callers re-check. `nil` when the
    /// kernel lacks futex_waitv (before Linux 5.16).
    static func futexWaitEither(
        _ sharedWord: UnsafeMutablePointer<UInt32>, expected sharedExpected: UInt32,
        or privateWord: UnsafeMutablePointer<UInt32>, expected privateExpected: UInt32,
        timeoutNanoseconds: Int64?
    ) -> FutexWaitResult? {
        let result = cconveyor_futex_wait_either(
            sharedWord, sharedExpected, privateWord, privateExpected, timeoutNanoseconds ?? -1)
        guard result == -1 else { return .wokenOrChanged }
        switch cconveyor_errno() {
        case ETIMEDOUT: return .timedOut
        case ENOSYS: return nil
        default: return .wokenOrChanged
        }
    }

    /// A new epoll instance (close-on-exec).
    static func epollCreate() throws(ConveyorError) -> Int32 {
        try retrying("epoll_create1") { cconveyor_epoll_create() }
    }

    /// Watches `descriptor` for readability on `epoll`.
    static func epollAdd(_ epoll: Int32, _ descriptor: Int32) throws(ConveyorError) {
        try retrying("epoll_ctl(ADD)") { cconveyor_epoll_add(epoll, descriptor) }
    }

    /// Stops watching `descriptor` on `epoll`.
    static func epollRemove(_ epoll: Int32, _ descriptor: Int32) {
        _ = cconveyor_epoll_remove(epoll, descriptor)
    }

    /// Blocks until descriptors watched by `epoll` are readable; returns them.
    /// Quiet for forks while blocked: call it only on a thread started with
    /// `startQuietThread`.
    static func epollWaitQuietly(_ epoll: Int32) throws(ConveyorError) -> [Int32] {
        var ready = [Int32](repeating: -1, count: 64)
        let count = try retrying("epoll_wait") {
            ready.withUnsafeMutableBufferPointer { cconveyor_epoll_wait_quietly(epoll, $0.baseAddress, 64, -1) }
        }
        return Array(ready.prefix(Int(count)))
    }
}

import CConveyor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SystemCalls {
    /// A started thread, to join or detach (a pthread_t).
    typealias ThreadHandle = pthread_t

    /// Starts a joinable thread that runs `body`, which is handed over to
    /// that thread alone.
    static func startThread(_ body: sending @escaping () -> Void) throws(ConveyorError) -> ThreadHandle {
        // @unchecked: the closure was transferred (`sending`) and runs on
        // exactly one thread, the new one.
        final class Box: @unchecked Sendable {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw .systemCall(name: "pthread_create", errno: result)
        }
        return thread
    }

    /// Starts a detached thread that runs `body`: it ends on its own and is
    /// never joined.
    static func startDetachedThread(_ body: sending @escaping () -> Void) throws(ConveyorError) {
        let thread = try startThread(body)
        _ = pthread_detach(thread)
    }

    /// Starts a detached thread that runs `body` and that a fork of this
    /// process waits for (fork_safety.c): it counts as busy from before it
    /// is created until it ends, except while blocked in a quiet wait
    /// (`epollWaitQuietly`, `pollReadable(quietly: true)`), so a forked child
    /// never inherits a lock it held (the Swift runtime's, say). For
    /// Conveyor's own long-lived threads, whose blocking waits are quiet ones.
    static func startQuietThread(_ body: sending @escaping () -> Void) throws(ConveyorError) {
        cconveyor_quiet_thread_starting()
        do throws(ConveyorError) {
            try startDetachedThread {
                body()
                cconveyor_quiet_thread_ended()
            }
        } catch {
            cconveyor_quiet_thread_ended()
            throw error
        }
    }

    /// Waits for `thread` to end; called on `thread` itself, detaches it
    /// instead (it is ending anyway, and joining itself would deadlock).
    static func joinOrDetach(_ thread: ThreadHandle) {
        if pthread_equal(thread, pthread_self()) != 0 {
            _ = pthread_detach(thread)
        } else {
            _ = pthread_join(thread, nil)
        }
    }
}

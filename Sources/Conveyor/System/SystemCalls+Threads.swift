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

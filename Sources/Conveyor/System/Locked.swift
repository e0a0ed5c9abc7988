#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value guarded by a pthread mutex, shared between threads.
///
/// The value must be `Sendable`: copies of it leave the lock (`current`,
/// and whatever `withLock` returns), so a non-Sendable value (a class used
/// by one thread at a time) would be shared unguarded. The lock is for
/// short critical sections only: nothing waits (on a ring, a queue, a
/// process) while holding it, since a thread blocked on the mutex can
/// neither time out nor be cancelled.
///
/// Why not `Synchronization.Mutex`: its fast path is atomics inside the
/// standard library, which ThreadSanitizer does not see, so every use shows
/// up as a false data race in the sanitized test run. pthread mutexes are
/// intercepted by the sanitizer.
final class Locked<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is only touched between lock and unlock of `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// A lock guarding `value`.
    init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` on the value with the lock held.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// A copy of the value, read with the lock held.
    var current: Value { withLock { $0 } }
}

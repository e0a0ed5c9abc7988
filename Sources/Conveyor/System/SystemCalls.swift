import CConveyor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Every system call Conveyor makes goes through here: errno becomes a
/// `ConveyorError` in this one place, and EINTR is retried here.
///
/// Extensions by concern live beside this file (`SystemCalls+Memory.swift`,
/// `SystemCalls+Process.swift`).
@usableFromInline
enum SystemCalls {
    /// The text of an errno value.
    static func errorString(_ errno: Int32) -> String {
        String(cString: strerror(errno))
    }

    /// The error for a failed call of `name`, reading errno now.
    static func lastError(_ name: String) -> ConveyorError {
        .systemCall(name: name, errno: cconveyor_errno())
    }

    /// Calls `body` until it does not fail with EINTR; throws on -1.
    @discardableResult
    static func retrying<T: BinaryInteger>(_ name: String, _ body: () -> T) throws(ConveyorError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = cconveyor_errno()
            if code == EINTR { continue }
            throw .systemCall(name: name, errno: code)
        }
    }

    /// CLOCK_MONOTONIC in nanoseconds.
    @usableFromInline
    static func monotonicNanoseconds() -> Int64 {
        cconveyor_monotonic_ns()
    }

    /// The processor's spin-wait hint.
    @usableFromInline
    static func cpuRelax() {
        cconveyor_cpu_relax()
    }

    /// Keeps the calling thread on one processor (tests that need two
    /// threads to share a processor); false if the kernel refused.
    static func pinCurrentThread(toProcessor processor: Int) -> Bool {
        cconveyor_pin_thread(Int32(processor)) == 0
    }

    /// Gives the processor to another thread.
    @usableFromInline
    static func yieldProcessor() {
        sched_yield()
    }

    /// The outcome of a futex wait.
    @usableFromInline
    enum FutexWaitResult {
        /// Woken, or the word no longer held the expected value, or a signal arrived.
        case wokenOrChanged
        /// The timeout passed.
        case timedOut
    }

    /// Sleeps while `word` holds `expected`, for at most `timeoutNanoseconds`
    /// (nil: no limit). Spurious returns are allowed: callers re-check.
    @usableFromInline
    static func futexWait(
        _ word: UnsafeMutablePointer<UInt32>, expected: UInt32, timeoutNanoseconds: Int64?, shared: Bool
    ) -> FutexWaitResult {
        let result = cconveyor_futex_wait(word, expected, timeoutNanoseconds ?? -1, shared ? 1 : 0)
        if result == -1, cconveyor_errno() == ETIMEDOUT { return .timedOut }
        return .wokenOrChanged
    }

    /// Wakes up to `count` threads sleeping on `word`.
    @usableFromInline
    static func futexWake(_ word: UnsafeMutablePointer<UInt32>, count: Int32 = .max, shared: Bool) {
        _ = cconveyor_futex_wake(word, count, shared ? 1 : 0)
    }
}

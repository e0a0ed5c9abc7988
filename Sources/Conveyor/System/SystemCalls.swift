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

    /// The processor the calling thread runs on now (-1 if unknown).
    @usableFromInline
    static func currentProcessor() -> Int {
        Int(cconveyor_current_processor())
    }

    /// A thread's move from one processor to another.
    @usableFromInline
    struct ProcessorMove: Equatable, Sendable {
        /// The processor the thread left.
        @usableFromInline let from: Int
        /// The processor it ran on just after (while barred from `from`).
        @usableFromInline let to: Int
    }

    /// Moves the calling thread off the processor it runs on to another one
    /// it is allowed on, keeping its allowed set as it was (the scheduler may
    /// move it later as usual); nil when it is allowed on no other processor
    /// or the kernel refused.
    static func moveToAnotherProcessor() -> ProcessorMove? {
        var from: Int32 = -1
        var to: Int32 = -1
        guard cconveyor_move_off_processor(&from, &to) == 0 else { return nil }
        return ProcessorMove(from: Int(from), to: Int(to))
    }

    /// The processors the calling thread may run on, ascending (empty if the
    /// kernel refused to say).
    static func allowedProcessors() -> [Int] {
        var processors = [Int32](repeating: 0, count: 1024)
        let count = processors.withUnsafeMutableBufferPointer {
            cconveyor_allowed_processors($0.baseAddress, Int32($0.count))
        }
        return processors.prefix(Swift.max(0, Int(count))).map(Int.init)
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

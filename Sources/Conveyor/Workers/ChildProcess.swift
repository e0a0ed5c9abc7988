import Synchronization

/// A child process started with `posix_spawn` (never `fork`, which is unsafe
/// in a multithreaded Swift process), with a pidfd to wait on and reaping
/// that never blocks unless asked to, and then never longer than a timeout.
///
/// A child does not outlive its handle: when the last reference goes, a child
/// still running is killed (SIGKILL) and reaped, so no zombie or orphan stays.
///
/// ```swift
/// let child = try ChildProcess.spawn(arguments: ["worker", "3"],
///                                    environment: ["RING_FD": "\(fd)"], inheriting: [fd])
/// let status = try child.wait(timeout: .seconds(10))
/// print(status)   // "exited with status 0" or "killed by signal 9 (SIGKILL)"
/// ```
public final class ChildProcess: Sendable {
    /// How a process ended.
    public enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
        /// It exited with this status code.
        case exited(Int32)
        /// A signal ended it.
        case signaled(Int32)

        /// Decodes a raw status from waitpid.
        init(rawWaitStatus status: Int32) {
            let (exited, value) = SystemCalls.decodeWaitStatus(status)
            self = exited ? .exited(value) : .signaled(value)
        }

        /// "exited with status 3" or "killed by signal 9 (SIGKILL)".
        public var description: String {
            switch self {
            case let .exited(code): ExitRecords.describe(exited: true, value: code)
            case let .signaled(signal): ExitRecords.describe(exited: false, value: signal)
            }
        }
    }

    /// SIGKILL's number, the default signal of `kill(_:)`.
    public static let killSignal: Int32 = 9

    /// The child's process id.
    public let pid: Int32
    /// A pidfd: becomes readable when the child ends. Owned by this handle.
    private let pidfd: Int32
    /// The status once reaped.
    private let reaped = Mutex<ExitStatus?>(nil)

    private init(pid: Int32, pidfd: Int32) {
        self.pid = pid
        self.pidfd = pidfd
    }

    /// Starts `executable` (by default this program, /proc/self/exe) with
    /// `arguments` (not including argv[0]). The child gets this process's
    /// environment plus `environment` (which overrides), and keeps each
    /// descriptor in `inheriting` open under the same number; every other
    /// close-on-exec descriptor is closed in the child. `standardOutput` and
    /// `standardError`, when given, replace the child's stdout and stderr.
    /// `name` is the child's argv[0], what `ps` and `pgrep -f` show
    /// (by default `executable`).
    public static func spawn(
        executable: String = "/proc/self/exe",
        name: String? = nil,
        arguments: [String] = [],
        environment: [String: String] = [:],
        inheriting: [Int32] = [],
        standardOutput: Int32? = nil,
        standardError: Int32? = nil
    ) throws(ConveyorError) -> ChildProcess {
        var merged = SystemCalls.currentEnvironment().filter { entry in
            let key = entry.split(separator: "=", maxSplits: 1).first.map(String.init) ?? entry
            return environment[key] == nil
        }
        merged += environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var redirect: [(source: Int32, target: Int32)] = []
        if let standardOutput { redirect.append((standardOutput, 1)) }
        if let standardError { redirect.append((standardError, 2)) }
        let pid = try SystemCalls.spawn(
            path: executable, arguments: [name ?? executable] + arguments, environment: merged,
            inherit: inheriting, redirect: redirect)
        do {
            let pidfd = try SystemCalls.pidfdOpen(pid)
            return ChildProcess(pid: pid, pidfd: pidfd)
        } catch {
            try? SystemCalls.kill(pid, ChildProcess.killSignal)
            // A child left unreaped is the worse failure: report it in place of pidfd_open's.
            _ = try reap(pid: pid, within: .seconds(10))
            throw error
        }
    }

    /// Reaps `pid`, a child of this process, waiting up to `timeout` for it to
    /// end (checking every millisecond, so a wait costs no CPU); the raw wait
    /// status. Throws `.timedOut` when it is still running at the deadline and
    /// the waitpid error when `pid` is not a child of this process.
    static func reap(pid: Int32, within timeout: Duration) throws(ConveyorError) -> Int32 {
        let deadline = Deadline.after(timeout)
        while true {
            if let status = try SystemCalls.reap(pid) { return status }
            if let deadline, deadline.remainingNanoseconds <= 0 {
                throw .timedOut(operation: "reaping process \(pid)", after: timeout)
            }
            SystemCalls.sleep(nanoseconds: 1_000_000)
        }
    }

    deinit {
        if exitStatus == nil {
            try? SystemCalls.kill(pid, ChildProcess.killSignal)
            _ = try? wait(timeout: .seconds(10))
        }
        SystemCalls.close(pidfd)
    }

    /// The status if the child has ended (it is reaped then), or nil while it
    /// runs. Never blocks. Also nil if waitpid fails, which it does only when
    /// something else in this process reaped the child; `wait(timeout:)`
    /// reports that error instead.
    public var exitStatus: ExitStatus? { try? reapIfEnded() }

    /// The status if the child has ended (reaping it), nil while it runs;
    /// throws waitpid's error rather than taking it for "still running".
    private func reapIfEnded() throws(ConveyorError) -> ExitStatus? {
        try reaped.withLock { (status: inout ExitStatus?) throws(ConveyorError) -> ExitStatus? in
            if let status { return status }
            guard let raw = try ExitRecords.reap(pid) else { return nil }
            status = ExitStatus(rawWaitStatus: raw)
            return status
        }
    }

    /// Whether the child is still running (a stopped child counts as running).
    public var isRunning: Bool { exitStatus == nil }

    /// Waits until the child ends, up to `timeout` (nil: no limit), and reaps
    /// it. At the deadline it throws `.timedOut`, naming what /proc says the
    /// child is doing (its state and wait channel, and each of its threads':
    /// state, wait channel, system call, innermost kernel functions); a
    /// failing waitpid throws its error at once. `kernelReport(of:)` has the
    /// whole account, for a log.
    public func wait(timeout: Duration?) throws(ConveyorError) -> ExitStatus {
        let deadline = Deadline.after(timeout)
        while true {
            if let status = try reapIfEnded() { return status }
            var slice: Int32 = 1000
            if let deadline {
                let remaining = deadline.remainingNanoseconds
                if remaining <= 0 {
                    let state = SystemCalls.processStateDescription(pid)
                    throw .timedOut(operation: "waiting for process \(pid) (\(state))", after: timeout ?? .zero)
                }
                slice = Int32(min(Int64(slice), remaining / 1_000_000 + 1))
            }
            _ = try SystemCalls.pollReadable([pidfd], timeoutMilliseconds: slice)
        }
    }

    /// What the kernel says about process `pid`, several lines for a log
    /// when a process does not end in time: its state, thread count and
    /// pending and blocked signals (/proc/PID/status), then each thread's
    /// state, wait channel, system call and kernel stack (the stacks are
    /// readable as root only), and the load average.
    public static func kernelReport(of pid: Int32) -> String {
        SystemCalls.processReport(pid)
    }

    /// Sends `signal` (default SIGKILL) unless the child was already reaped.
    public func kill(_ signal: Int32 = ChildProcess.killSignal) throws(ConveyorError) {
        try reaped.withLock { status throws(ConveyorError) in
            // After reaping, the pid may name another process: never signal it.
            guard status == nil else { return }
            try SystemCalls.kill(pid, signal)
        }
    }

    // MARK: - Statuses of reaped children, for code that only knows a pid

    /// How the process `pid` ended, if this process spawned and reaped it
    /// through a `ChildProcess`, or if it is a zombie whose status /proc shows;
    /// nil when that cannot be known (it was not this process's child).
    public static func knownExitStatus(of pid: Int32) -> ExitStatus? {
        ExitRecords.waitStatus(of: pid).map(ExitStatus.init(rawWaitStatus:))
    }

    /// The exit status of a process whose parent ended after it called
    /// `bindLifetimeToParent` (or had already ended when it called it).
    public static let parentEndedStatus: Int32 = 70

    /// Makes this process end (`_exit` with `parentEndedStatus`) as soon as
    /// its parent process ends, whatever it is doing, and at once if the
    /// parent is already gone (`expectedParent` differs from the current
    /// parent). It watches a pidfd of the parent process from one sleeping
    /// thread: no polling, and unlike PR_SET_PDEATHSIG it does not fire when
    /// the parent's spawning *thread* ends. Call first thing in a worker's
    /// main; calling it again for the same parent does nothing. Throws when
    /// pidfds are missing (Linux before 5.3) or no thread can be started.
    public static func bindLifetimeToParent(expectedParent: Int32? = nil) throws(ConveyorError) {
        try ParentDeathWatch.bind(
            to: expectedParent ?? SystemCalls.parentProcessID(), exitStatus: parentEndedStatus)
    }
}

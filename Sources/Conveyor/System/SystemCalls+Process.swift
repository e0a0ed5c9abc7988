import CConveyor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Processes: spawning, signalling, reaping, pidfds, and /proc status.
extension SystemCalls {
    /// Starts `path` with `arguments` (argv[0] included) and the complete
    /// `environment` ("KEY=value"); each descriptor in `inherit` stays open in
    /// the child under the same number (glibc ≥ 2.29 clears close-on-exec for a
    /// dup2 onto itself); each (source, target) in `redirect` is duplicated
    /// onto `target` (such as 1 for stdout). Signal mask and dispositions are
    /// reset to defaults.
    static func spawn(
        path: String, arguments: [String], environment: [String], inherit: [Int32],
        redirect: [(source: Int32, target: Int32)] = []
    ) throws(ConveyorError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor in inherit {
            posix_spawn_file_actions_adddup2(&actions, descriptor, descriptor)
        }
        for (source, target) in redirect {
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard code == 0 else { throw .systemCall(name: "posix_spawn(\(path))", errno: code) }
        return pid
    }

    /// This process's environment as "KEY=value" strings.
    static func currentEnvironment() -> [String] {
        var result: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            result.append(String(cString: entry))
            cursor += 1
        }
        return result
    }

    /// Sends `signal` to `pid`.
    static func kill(_ pid: pid_t, _ signal: Int32) throws(ConveyorError) {
        try retrying("kill(\(pid), \(signal))") { Glibc.kill(pid, signal) }
    }

    /// Reaps `pid` if it has ended (non-blocking); its raw wait status, or nil while it runs.
    static func reap(_ pid: pid_t) throws(ConveyorError) -> Int32? {
        var status: Int32 = 0
        let result = try retrying("waitpid(\(pid))") { waitpid(pid, &status, WNOHANG) }
        return result == 0 ? nil : status
    }

    /// A pidfd for `pid`: readable once the process has ended.
    static func pidfdOpen(_ pid: pid_t) throws(ConveyorError) -> Int32 {
        try retrying("pidfd_open(\(pid))") { cconveyor_pidfd_open(pid) }
    }

    /// Waits up to `timeoutMilliseconds` (negative: forever) until one of
    /// `descriptors` is readable; the indices of the readable ones.
    /// `quietly`: quiet for forks while blocked, for a thread started with `startQuietThread` only.
    static func pollReadable(
        _ descriptors: [Int32], timeoutMilliseconds: Int32, quietly: Bool = false
    ) throws(ConveyorError) -> [Int] {
        var entries = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        try retrying("poll") {
            quietly ? cconveyor_poll_quietly(&entries, UInt(entries.count), timeoutMilliseconds)
                : poll(&entries, nfds_t(entries.count), timeoutMilliseconds)
        }
        return entries.indices.filter { entries[$0].revents != 0 }
    }

    /// This process's id.
    static func processID() -> pid_t { getpid() }

    /// The parent's process id.
    static func parentProcessID() -> pid_t { getppid() }

    /// Names the calling thread (the process itself, on the main thread), as
    /// `top`, `pgrep` and /proc/PID/comm show it; the kernel keeps 15 bytes.
    static func setThreadName(_ name: String) throws(ConveyorError) {
        try retrying("prctl(PR_SET_NAME)") { cconveyor_set_thread_name(name) }
    }

    /// Ends this process at once with `code`, running no atexit handlers.
    static func exitImmediately(_ code: Int32) -> Never { _exit(code) }

    /// Makes this process ignore SIGINT (Ctrl-C reaches a whole process group).
    static func ignoreInterrupts() {
        _ = signal(SIGINT, SIG_IGN)
    }

    /// Ends this process with `code` the ordinary way: buffered output is flushed, atexit handlers run.
    static func exitProcess(_ code: Int32) -> Never { exit(code) }

    /// Writes `text` to standard error, unbuffered.
    static func writeStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// What /proc/PID/stat says about a process.
    struct ProcessStatus: Equatable {
        /// The state letter: R, S, D running or sleeping; T, t stopped; Z zombie; X dead.
        var state: UInt8
        /// Start time in clock ticks after boot (field 22): with the pid, it names one process.
        var startTime: UInt64
        /// For a zombie, the raw wait status (field 52).
        var exitCode: Int32?
    }

    /// The status of `pid` from /proc, or nil when no such process exists.
    static func processStatus(_ pid: pid_t) -> ProcessStatus? {
        guard pid > 0, let bytes = readSmallFile("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19, let state = fields[0].first,
              let startTime = UInt64(String(decoding: fields[19], as: UTF8.self))
        else { return nil }
        var exitCode: Int32?
        if state == UInt8(ascii: "Z"), fields.count > 49 {
            exitCode = Int32(String(decoding: fields[49].prefix { $0 != 10 }, as: UTF8.self))
        }
        return ProcessStatus(state: state, startTime: startTime, exitCode: exitCode)
    }

    /// What /proc says `pid` is doing, for a report about a process that
    /// does not end: "state Z, wchan 0" (the state letter from
    /// /proc/PID/stat and the kernel function it sleeps in from
    /// /proc/PID/wchan), then each of its threads still listed ("threads:
    /// 1234 D wchan …, syscall …, stack …", see `threadReports`), or
    /// "no /proc entry" when it has none.
    static func processStateDescription(_ pid: pid_t) -> String {
        guard let status = processStatus(pid) else { return "no /proc entry" }
        let channel = readSmallFile("/proc/\(pid)/wchan").map { String(decoding: $0, as: UTF8.self) } ?? "?"
        let threads = threadReports(pid).map { $0.summary(frames: 4) }
        return "state \(Character(Unicode.Scalar(status.state))), wchan \(channel.isEmpty ? "0" : channel)"
            + (threads.isEmpty ? "" : "; threads: " + threads.joined(separator: "; "))
    }

    /// Decodes a raw wait status into (exited?, code or signal).
    static func decodeWaitStatus(_ status: Int32) -> (exited: Bool, value: Int32) {
        if cconveyor_wifexited(status) != 0 { return (true, cconveyor_wexitstatus(status)) }
        return (false, cconveyor_wtermsig(status))
    }

    /// The conventional name of a signal, such as "SIGKILL".
    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
            SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
            SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
            SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP", SIGXCPU: "SIGXCPU",
            SIGXFSZ: "SIGXFSZ", SIGSYS: "SIGSYS",
        ]
        return names[signal] ?? "signal \(signal)"
    }
}

/// Forks of this process (fork_safety.c): per-process objects that a
/// forked child must make again.
extension SystemCalls {
    /// 0 in the process that loaded the library, bumped in the child of every fork().
    static func forkGeneration() -> UInt { UInt(cconveyor_fork_generation()) }

    /// Runs `body` under the fork lock (never held in a forked child at its start).
    static func withForkLock<Result>(_ body: () -> Result) -> Result {
        cconveyor_fork_lock()
        defer { cconveyor_fork_unlock() }
        return body()
    }

    /// Whether this process is a forked child whose fork found a thread
    /// Conveyor started in the parent still busy after waiting 5 s for it:
    /// the child may have inherited a lock that thread held.
    static var forkedWhileBusy: Bool { cconveyor_forked_while_busy() != 0 }
}

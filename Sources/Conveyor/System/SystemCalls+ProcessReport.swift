/// What the kernel says about a process that does not end when it should:
/// every thread's state, wait channel, system call and kernel stack, from /proc.
extension SystemCalls {
    /// One thread of a process as /proc/PID/task/TID shows it.
    struct ThreadReport: Equatable {
        /// The thread id (the process id for the main thread).
        var tid: Int32
        /// The state letter of its stat file (R, S, D, T, t, Z, X), or "?" when it could not be read.
        var state: Character
        /// The kernel function it sleeps in ("0" when it does not sleep), or "?".
        var waitChannel: String
        /// The system call it is in: its number and arguments, "running", "-1 …" (in the kernel
        /// but in no call), or "?" (no permission, or the thread ended meanwhile).
        var systemCall: String
        /// Its kernel stack, innermost first (readable as root only; empty otherwise).
        var stack: [String]

        /// "1234 D wchan do_exit, syscall 202 …, stack a < b < c" (the first `frames` frames).
        func summary(frames: Int) -> String {
            var text = "\(tid) \(state) wchan \(waitChannel), syscall \(systemCall)"
            if !stack.isEmpty { text += ", stack " + stack.prefix(frames).joined(separator: " < ") }
            return text
        }
    }

    /// Every thread of `pid` still listed in /proc (empty when there is no such process).
    static func threadReports(_ pid: Int32) -> [ThreadReport] {
        let directory = "/proc/\(pid)/task"
        return directoryEntries(directory).compactMap { Int32($0) }.sorted().map { tid in
            let path = "\(directory)/\(tid)"
            func text(_ name: String) -> String? {
                readSmallFile("\(path)/\(name)", limit: 16384).map(reportText)
            }
            var state: Character = "?"
            if let stat = text("stat"), let close = stat.lastIndex(of: ")"),
               let letter = stat[stat.index(after: close)...].split(separator: " ").first?.first {
                state = letter
            }
            let channel = text("wchan") ?? "?"
            // Each stack line is "[<0>] function+0x12/0x34": keep the function.
            let stack = (text("stack") ?? "").split(separator: "\n").compactMap { line in
                line.split(separator: " ").last.map { String($0.prefix { $0 != "+" }) }
            }
            return ThreadReport(tid: tid, state: state, waitChannel: channel.isEmpty ? "0" : channel,
                                systemCall: text("syscall") ?? "?", stack: stack)
        }
    }

    /// A multi-line account of `pid` for a report about a process that
    /// does not end: the lines of /proc/PID/status that tell a process's
    /// state (state, threads, pending and blocked signals), then each thread's
    /// state, wait channel, system call and kernel stack.
    static func processReport(_ pid: Int32) -> String {
        guard let status = readSmallFile("/proc/\(pid)/status", limit: 16384) else {
            return "process \(pid): no /proc entry (it has been reaped, or never existed)"
        }
        let keys = ["State:", "Tgid:", "PPid:", "Threads:", "SigQ:", "SigPnd:", "ShdPnd:", "SigBlk:", "SigIgn:",
                    "SigCgt:", "voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"]
        var lines = ["process \(pid), as /proc shows it:"]
        for line in String(decoding: status, as: UTF8.self).split(separator: "\n")
        where keys.contains(where: { line.hasPrefix($0) }) {
            lines.append("  " + line.replacing("\t", with: " "))
        }
        for thread in threadReports(pid) {
            lines.append("  thread \(thread.summary(frames: 0))")
            for frame in thread.stack { lines.append("    \(frame)") }
        }
        if let load = readSmallFile("/proc/loadavg") {
            lines.append("  load average: " + reportText(load))
        }
        return lines.joined(separator: "\n")
    }

    /// A /proc file's bytes as text, without its final newlines.
    private static func reportText(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.reversed().drop { $0 == UInt8(ascii: "\n") }.reversed(), as: UTF8.self)
    }
}

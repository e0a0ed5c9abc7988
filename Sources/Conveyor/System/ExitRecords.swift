import Synchronization

/// How the processes this process reaped ended, by pid: whoever reaps a child
/// records its raw wait status here (`ChildProcess`), and whoever reports a
/// death reads it (the ring naming a dead producer), so that neither layer
/// depends on the other.
enum ExitRecords {
    private static let statuses = Mutex<[Int32: Int32]>([:])

    /// Reaps `pid` if it has ended and records its raw wait status; nil while
    /// it runs. Throws waitpid's error (ECHILD: `pid` is not, or no longer,
    /// an unreaped child of this process), which never means "running".
    /// The lock is held across the reap, so `waitStatus(of:)` sees the child
    /// either still a zombie or already recorded, never between.
    static func reap(_ pid: Int32) throws(ConveyorError) -> Int32? {
        try statuses.withLock { (table: inout [Int32: Int32]) throws(ConveyorError) -> Int32? in
            guard let raw = try SystemCalls.reap(pid) else { return nil }
            if table.count >= 4096 { table.removeAll() }
            table[pid] = raw
            return raw
        }
    }

    /// The raw wait status of `pid`: recorded when this process reaped it, or
    /// read from /proc while it is a zombie; nil when that cannot be known
    /// (it was not this process's child).
    static func waitStatus(of pid: Int32) -> Int32? {
        statuses.withLock { table in
            if let status = table[pid] { return status }
            if let status = SystemCalls.processStatus(pid), status.state == UInt8(ascii: "Z") { return status.exitCode }
            return nil
        }
    }

    /// "exited with status 3" or "killed by signal 9 (SIGKILL)".
    static func describe(exited: Bool, value: Int32) -> String {
        exited ? "exited with status \(value)" : "killed by signal \(value) (\(SystemCalls.signalName(value)))"
    }

    /// How `pid` ended, as well as this process can tell.
    static func description(of pid: Int32) -> String {
        guard let status = waitStatus(of: pid) else {
            return "no longer running (it was not this process's child, so its exit status is unknown)"
        }
        let (exited, value) = SystemCalls.decodeWaitStatus(status)
        return describe(exited: exited, value: value)
    }
}

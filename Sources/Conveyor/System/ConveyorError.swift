/// Every error Conveyor throws. Each case says what happened; its
/// `description` also says what to do about it.
public enum ConveyorError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A wait ran out of time. `operation` names what was waited for.
    case timedOut(operation: String, after: Duration)
    /// The queue or ring was closed; nothing more can be put into it.
    case closed(String)
    /// An argument or configuration value is out of range.
    case invalidArgument(String)
    /// A system call failed with `errno`.
    case systemCall(name: String, errno: Int32)
    /// A source, dataset or transform threw. `index` is the item's index where
    /// one exists, `worker` the worker that ran it.
    case sourceFailed(index: Int?, worker: Int?, message: String)
    /// /dev/shm (or the memfd's tmpfs) has too little room for a segment.
    case insufficientSharedMemory(needed: Int, available: Int?, path: String)
    /// An attached segment does not start with Conveyor's magic number.
    case foreignSegment(String)
    /// An attached segment was written by another format version.
    case versionMismatch(found: UInt32, expected: UInt32)
    /// An attached segment's schema is not the one asked for.
    case schemaMismatch(expected: String, found: String)
    /// An attached segment is truncated or holds impossible values.
    case corruptSegment(String)
    /// Another process shrank a segment's file under this process's mapping:
    /// its contents are lost (this process sees zeros there, and does not crash).
    case segmentTruncated(segment: String)
    /// An item's field is longer than the field's maximum; nothing was published.
    case itemTooLarge(field: String, length: Int, maximum: Int)
    /// A producer process died. `status` says how (signal or exit code).
    case producerDied(pid: Int32, lane: Int, status: String)
    /// A producer is stopped (state T: SIGSTOP, SIGTSTP) and did not produce within the timeout.
    case producerStalled(pid: Int32, lane: Int, waited: Duration)
    /// Every consumer of a ring is gone; a producer would wait forever.
    case consumerGone(String)
    /// The ring was reset by some process while this one waited on it.
    case ringReset
    /// A worker process died or exited unexpectedly.
    case workerDied(worker: Int, pid: Int32, status: String, hint: String?)
    /// A named resource (segment, lane, worker slot) is in use or missing.
    case unavailable(String)
    /// A data file (a NumPy file, a dataset's directory) cannot be used as it is.
    case invalidFile(path: String, problem: String)

    public var description: String {
        switch self {
        case let .timedOut(operation, after):
            return "\(operation) timed out after \(after.conveyorFormatted): nothing arrived in time; "
                + "pass a longer timeout, or nil to wait without one"
        case let .closed(what):
            return "\(what) is closed: nothing more can be added; create a new one to go on"
        case let .invalidArgument(message):
            return "invalid argument: \(message)"
        case let .systemCall(name, errno):
            return "\(name) failed: \(SystemCalls.errorString(errno)) (errno \(errno))"
        case let .sourceFailed(index, worker, message):
            var place: [String] = []
            if let index { place.append("index \(index)") }
            if let worker { place.append("worker \(worker)") }
            let at = place.isEmpty ? "" : " at " + place.joined(separator: ", ")
            return "the source failed\(at): \(message)"
        case let .insufficientSharedMemory(needed, available, path):
            let free = available.map { "only \(ByteCount($0)) is free" } ?? "the free space is unknown"
            return "shared memory at \(path) is too small: the segment needs \(ByteCount(needed)) and \(free); "
                + "enlarge it (docker: --shm-size), or use fewer slots or smaller items"
        case let .foreignSegment(detail):
            return "not a Conveyor segment (\(detail)); check the name or descriptor you attached to"
        case let .versionMismatch(found, expected):
            return "the segment has format version \(found) but this build reads version \(expected); "
                + "attach with the same Conveyor version that created it"
        case let .schemaMismatch(expected, found):
            return "the segment's schema is \(found), not the expected \(expected); "
                + "attach with the schema the ring was created with"
        case let .corruptSegment(detail):
            return "the segment is corrupt: \(detail); recreate it"
        case let .segmentTruncated(segment):
            return "the shared segment \(segment) was shrunk (truncated) by another process while this one used it; "
                + "its contents are lost, so this ring cannot go on: create a new one, and let only its peers write its file"
        case let .itemTooLarge(field, length, maximum):
            return "field '\(field)' holds \(length) rows but its maximum is \(maximum); nothing was published; "
                + "split the item or create the ring with a larger maximum"
        case let .producerDied(pid, lane, status):
            return "the producer on lane \(lane) (pid \(pid)) died: \(status); "
                + "its committed items were delivered, its unfinished one was dropped; a new producer may claim the lane"
        case let .producerStalled(pid, lane, waited):
            return "the producer on lane \(lane) (pid \(pid)) is alive but stopped (SIGSTOP or SIGTSTP) and produced "
                + "nothing for \(waited.conveyorFormatted); continue it (SIGCONT) or end it"
        case let .consumerGone(detail):
            return "no consumer is attached any more (\(detail)); a producer would wait forever, so it stopped"
        case .ringReset:
            return "the ring was reset by another process while this one waited; what was in it is gone, start again"
        case let .workerDied(worker, pid, status, hint):
            let extra = hint.map { " (\($0))" } ?? ""
            return "worker \(worker) (pid \(pid)) died: \(status)\(extra)"
        case let .unavailable(message):
            return message
        case let .invalidFile(path, problem):
            return "cannot use '\(path)': \(problem)"
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double (for rates and shares).
    var conveyorSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// A short human form such as "1.5 s" or "250 ms".
    var conveyorFormatted: String {
        let total = conveyorSeconds
        if total >= 1 { return "\((total * 100).rounded() / 100) s" }
        if total >= 1e-3 { return "\((total * 1e4).rounded() / 10) ms" }
        return "\((total * 1e7).rounded() / 10) µs"
    }

    /// The duration in whole nanoseconds, saturating at Int64's range.
    var conveyorNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product.addingReportingOverflow(attoseconds / 1_000_000_000).overflow
            ? .max : product + attoseconds / 1_000_000_000
    }
}

/// A byte count printed in the largest fitting binary unit.
struct ByteCount: CustomStringConvertible {
    var bytes: Int
    init(_ bytes: Int) { self.bytes = bytes }
    var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : "\((value * 10).rounded() / 10) \(units[unit])"
    }
}

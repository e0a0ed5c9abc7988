/// Whether another process named in the segment (a producer or a consumer)
/// still runs. A pid alone can be reused, so the segment stores the pid with
/// the process's start time from /proc; a mismatch means the original is gone.
enum PeerLiveness: Equatable {
    case running
    /// Stopped by a signal (SIGSTOP, SIGTSTP) or a debugger: alive, not producing.
    case stopped
    /// Exited, killed, or a zombie waiting to be reaped.
    case gone

    /// The state of the process `pid` that started at `startTime` (0: not known yet).
    static func of(pid: Int32, startTime: UInt64) -> PeerLiveness {
        guard pid > 0, let status = SystemCalls.processStatus(pid) else { return .gone }
        if startTime != 0, status.startTime != startTime { return .gone }
        switch status.state {
        case UInt8(ascii: "Z"), UInt8(ascii: "X"), UInt8(ascii: "x"): return .gone
        case UInt8(ascii: "T"), UInt8(ascii: "t"): return .stopped
        default: return .running
        }
    }

    /// This process's /proc start time.
    static var ownStartTime: UInt64 {
        SystemCalls.processStatus(SystemCalls.processID())?.startTime ?? 0
    }

    /// How a dead producer ended, as well as this process can tell.
    static func deathDescription(pid: Int32) -> String {
        if let status = ChildProcess.knownExitStatus(of: pid) { return status.description }
        return "no longer running (it was not this process's child, so its exit status is unknown)"
    }
}

/// A consumer's watch on the producers of each lane: a pidfd per producer,
/// so that checking them all is one cheap poll per lane and no /proc read.
final class ProducerWatch {
    private struct Watched {
        var pid: Int32
        var startTime: UInt64
        var pidfd: Int32?
    }

    private var watched: [Watched?]

    init(laneCount: Int) {
        watched = Array(repeating: nil, count: laneCount)
    }

    deinit {
        for case let entry? in watched { if let pidfd = entry.pidfd { SystemCalls.close(pidfd) } }
    }

    /// Whether the producer `pid` (started at `startTime`) that owns `lane` has ended.
    func hasEnded(lane: Int, pid: Int32, startTime: UInt64) -> Bool {
        if let entry = watched[lane], entry.pid == pid, entry.startTime == startTime, let pidfd = entry.pidfd {
            return (try? SystemCalls.pollReadable([pidfd], timeoutMilliseconds: 0).isEmpty == false) ?? false
        }
        forget(lane: lane)
        guard let pidfd = try? SystemCalls.pidfdOpen(pid) else { return true }
        // The pidfd names whatever process has this pid now; the start time says whether it is ours.
        if PeerLiveness.of(pid: pid, startTime: startTime) == .gone {
            SystemCalls.close(pidfd)
            return true
        }
        if startTime == 0 {
            // The owner is still claiming the lane: check again once its start time is written.
            SystemCalls.close(pidfd)
            return false
        }
        watched[lane] = Watched(pid: pid, startTime: startTime, pidfd: pidfd)
        return (try? SystemCalls.pollReadable([pidfd], timeoutMilliseconds: 0).isEmpty == false) ?? false
    }

    /// Drops the watch on `lane` (its producer was reported or replaced).
    func forget(lane: Int) {
        if let pidfd = watched[lane]?.pidfd { SystemCalls.close(pidfd) }
        watched[lane] = nil
    }
}

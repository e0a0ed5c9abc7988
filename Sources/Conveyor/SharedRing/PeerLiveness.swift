/// Whether another process named in the segment (a producer or a consumer)
/// still runs. A pid alone can be reused, so the segment stores the pid with
/// (a tag of) the process's start time from /proc; a mismatch means the original is gone.
enum PeerLiveness: Equatable {
    /// Running, or sleeping (states R, S, D, and t: traced by a debugger).
    case running
    /// Stopped by a signal (SIGSTOP, SIGTSTP): state T only. Alive, not producing.
    case stopped
    /// Exited, killed, or a zombie waiting to be reaped.
    case gone

    /// The liveness a /proc state letter means.
    init(state: UInt8) {
        switch state {
        case UInt8(ascii: "Z"), UInt8(ascii: "X"), UInt8(ascii: "x"): self = .gone
        case UInt8(ascii: "T"): self = .stopped
        default: self = .running
        }
    }

    /// The state of the process `pid` that started at `startTime` (0: not known).
    static func of(pid: Int32, startTime: UInt64) -> PeerLiveness {
        guard pid > 0, let status = SystemCalls.processStatus(pid) else { return .gone }
        if startTime != 0, status.startTime != startTime { return .gone }
        return PeerLiveness(state: status.state)
    }

    /// This process's /proc start time.
    static var ownStartTime: UInt64 {
        SystemCalls.processStatus(SystemCalls.processID())?.startTime ?? 0
    }

}

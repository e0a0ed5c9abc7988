/// A process as the segment names it: its pid and a tag of its /proc start
/// time, packed into one 64-bit word so that it is claimed, replaced and
/// cleared by a single atomic operation (nobody ever sees a pid with another
/// process's start time).
///
/// Word layout (FORMAT.md, *Process words*): bits 0-31 the pid, bits 32-62
/// the start time modulo 2^31 (its tag), bit 63 the lane's "finished" flag.
/// 0 means nobody.
struct PeerIdentity: Hashable, Sendable {
    /// A lane owner word with this bit set: the lane's producer finished.
    static let finishedBit: UInt64 = 1 << 63
    static let tagMask: UInt64 = 0x7FFF_FFFF

    let pid: Int32
    /// The start time modulo 2^31 (clock ticks after boot).
    let startTag: UInt32

    init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTag = UInt32(startTime & PeerIdentity.tagMask)
    }

    /// The process a word names, or nil for 0 (the finished bit is ignored).
    init?(word: UInt64) {
        let pid = Int32(bitPattern: UInt32(truncatingIfNeeded: word))
        guard pid != 0 else { return nil }
        self.pid = pid
        self.startTag = UInt32(truncatingIfNeeded: (word >> 32) & PeerIdentity.tagMask)
    }

    /// The word naming this process.
    var word: UInt64 { UInt64(UInt32(bitPattern: pid)) | UInt64(startTag) << 32 }

    /// Whether a /proc start time is this process's.
    func matches(startTime: UInt64) -> Bool { UInt32(startTime & PeerIdentity.tagMask) == startTag }

    /// This process.
    static var own: PeerIdentity {
        PeerIdentity(pid: SystemCalls.processID(), startTime: PeerLiveness.ownStartTime)
    }

    /// Whether it runs, is stopped or is gone, from /proc.
    var liveness: PeerLiveness {
        guard let status = SystemCalls.processStatus(pid), matches(startTime: status.startTime) else { return .gone }
        return PeerLiveness(state: status.state)
    }

    /// Whether it has ended, from /proc (no watch is kept).
    var hasEnded: Bool { liveness == .gone }

    /// A lasting check on whether one process has ended: a hold on its
    /// `PeerWatcher` watch (the watcher wakes waiters when it ends), or a
    /// /proc read each time where there is no watcher. This process itself
    /// is never watched: it runs while it asks.
    final class Watching {
        let identity: PeerIdentity
        private let watch: PeerWatcher.Watch?
        private let isSelf: Bool

        init(_ identity: PeerIdentity) {
            self.identity = identity
            isSelf = identity.pid == SystemCalls.processID()
            watch = isSelf ? nil : PeerWatcher.shared?.watch(pid: identity.pid, key: identity.word) {
                SystemCalls.processStatus(identity.pid).map { identity.matches(startTime: $0.startTime) } ?? false
            }
        }

        /// True once the process has ended.
        var ended: Bool {
            if isSelf { return false }
            if let watch { return watch.ended }
            return identity.liveness == .gone
        }
    }
}

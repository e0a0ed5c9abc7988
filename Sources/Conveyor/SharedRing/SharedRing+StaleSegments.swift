/// A named segment whose creator is gone: what `SharedRing.removeStaleSegments()` removes.
public struct StaleSegment: Sendable, Hashable {
    /// Its name in /dev/shm.
    public var name: String
    /// The pid of its creator, which no longer runs.
    public var creatorPID: Int32
    /// Its size in bytes (the memory removing it frees).
    public var byteCount: Int
    /// The ring format version its header names (older versions included),
    /// or nil when its creator died before writing the header: the pid is
    /// then the one in its name (`conveyor-ring-PID-…`).
    public var formatVersion: UInt32?
}

extension SharedRing {
    /// The ring format versions whose segments `staleSegments()` recognizes
    /// (older ones included); attaching needs the version this build writes.
    public static var knownFormatVersions: ClosedRange<UInt32> { RingFormatHistory.knownVersions }

    /// Removes the named ring segments in /dev/shm whose creator is no
    /// longer running (a crash left them behind), whatever their name and
    /// whichever ring format version wrote them; returns the names removed.
    /// Segments of live creators, files that are not Conveyor rings, and
    /// rings of a format version newer than this build knows are kept.
    @discardableResult
    public static func removeStaleSegments() -> [String] {
        remove(staleSegments())
    }

    /// The named ring segments in /dev/shm whose creator is no longer running:
    /// what `removeStaleSegments()` would remove now. Nothing is changed.
    ///
    /// A segment is a ring if it starts with the ring's magic ("CONVRING");
    /// its header's version says where its creator is recorded
    /// (`RingFormatHistory`). A file named `conveyor-ring-PID-…` that is
    /// still all zeros (its creator died before writing the header) counts
    /// as the ring of process PID.
    public static func staleSegments() -> [StaleSegment] {
        staleSegments(namedWith: "")
    }

    /// `removeStaleSegments()` for the names starting with `prefix` only; an
    /// all-zero file named `prefix` + "PID-…" counts as process PID's ring.
    @discardableResult
    static func removeStaleSegments(namedWith prefix: String) -> [String] {
        remove(staleSegments(namedWith: prefix))
    }

    /// The stale segments among the names starting with `prefix` ("": all).
    static func staleSegments(namedWith prefix: String) -> [StaleSegment] {
        var stale: [StaleSegment] = []
        for name in SharedSegment.namedSegments(prefix: prefix) {
            guard let header = SharedSegment.peek(name: name, count: RingLayout.Header.immutableBytes) else { continue }
            let creator: (pid: Int32, startTime: UInt64, version: UInt32?)
            if let recorded = header.withUnsafeBytes(RingFormatHistory.creator(of:)) {
                creator = (recorded.pid, recorded.startTime, recorded.version)
            } else if header.allSatisfy({ $0 == 0 }), let pid = pidInName(name, prefixes: [namePrefix, prefix]) {
                creator = (pid, 0, nil)
            } else {
                continue
            }
            if PeerLiveness.of(pid: creator.pid, startTime: creator.startTime) == .gone {
                let bytes = SystemCalls.fileIdentity(SystemCalls.sharedMemoryDirectory + "/" + name)?.size ?? 0
                stale.append(StaleSegment(name: name, creatorPID: creator.pid, byteCount: bytes,
                                          formatVersion: creator.version))
            }
        }
        return stale
    }

    /// The pid in a name made as one of `prefixes` + "PID-…", if it is one.
    private static func pidInName(_ name: String, prefixes: [String]) -> Int32? {
        for prefix in prefixes where !prefix.isEmpty && name.hasPrefix(prefix) {
            if let pid = name.dropFirst(prefix.count).split(separator: "-").first.flatMap({ Int32($0) }), pid > 0 {
                return pid
            }
        }
        return nil
    }

    /// Unlinks each of `stale`; the names removed.
    private static func remove(_ stale: [StaleSegment]) -> [String] {
        stale.compactMap { stale in
            guard (try? SharedSegment.unlink(name: stale.name)) != nil else { return nil }
            ConveyorLog.logger.info("stale segment removed", metadata: [
                "segment": "\(stale.name)", "creatorPID": "\(stale.creatorPID)", "bytes": "\(stale.byteCount)",
                "formatVersion": "\(stale.formatVersion.map(String.init) ?? "none (header never written)")"])
            return stale.name
        }
    }
}

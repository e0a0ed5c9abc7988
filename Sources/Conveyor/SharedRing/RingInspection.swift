/// Where another process can find a ring's segment.
public enum RingLocation: Sendable, Hashable, CustomStringConvertible {
    /// A named segment in /dev/shm (the name without "/dev/shm/").
    case named(String)
    /// Descriptor `descriptor` of process `pid`: how an anonymous ring
    /// (a memfd) is reached from outside the processes sharing it.
    case descriptor(pid: Int32, descriptor: Int32)

    /// Parses "PID:FD" as a descriptor, anything else as a segment name
    /// (a leading "/dev/shm/" is dropped).
    public init(parsing text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, let pid = Int32(parts[0]), let descriptor = Int32(parts[1]) {
            self = .descriptor(pid: pid, descriptor: descriptor)
        } else {
            let prefix = SystemCalls.sharedMemoryDirectory + "/"
            self = .named(text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text)
        }
    }

    /// "NAME" or "PID:FD", as `init(parsing:)` reads it.
    public var description: String {
        switch self {
        case let .named(name): name
        case let .descriptor(pid, descriptor): "\(pid):\(descriptor)"
        }
    }

    /// The path that opens the segment.
    var path: String {
        switch self {
        case let .named(name): SystemCalls.sharedMemoryDirectory + "/" + name
        case let .descriptor(pid, descriptor): "/proc/\(pid)/fd/\(descriptor)"
        }
    }
}

/// A ring seen from outside: where it is, who made it and holds it, and its
/// state (`RingInfo`). Taking one changes nothing in the ring.
public struct RingSnapshot: Sendable {
    /// Where the ring was read.
    public var location: RingLocation
    /// The descriptors of live processes that have the segment open (for an
    /// anonymous ring, the processes sharing it), as far as /proc shows them.
    public var holders: [RingLocation]
    /// The pid of the process that created the ring.
    public var creatorPID: Int32
    /// Whether that process still runs.
    public var creatorAlive: Bool
    /// Bytes per slot (its header and an item of the schema's maximum size).
    public var slotBytes: Int
    /// Bytes of an item at the schema's maximum size.
    public var itemBytes: Int
    /// Lanes, consumers, schema, depths and counts.
    public var info: RingInfo
}

/// A segment that looks like a ring (by name or by its first bytes) but
/// could not be read as one.
public struct RingProblem: Sendable {
    /// Where it is.
    public var location: RingLocation
    /// What is wrong: `.corruptSegment`, `.foreignSegment`, `.versionMismatch`, `.systemCall`, …
    public var error: ConveyorError

    /// A problem with the segment at `location`.
    public init(location: RingLocation, error: ConveyorError) {
        self.location = location
        self.error = error
    }
}

/// Every ring this process can see: `SharedRing.survey()`.
public struct RingSurvey: Sendable {
    /// The rings read, named ones first.
    public var rings: [RingSnapshot]
    /// Segments that looked like rings but could not be read.
    public var problems: [RingProblem]
    /// Processes whose descriptors could not be listed (usually another
    /// user's): an anonymous ring held only by them is not in `rings`.
    public var unreadableProcesses: [Int32]
}

extension SharedRing {
    /// The state of the ring at `location`, read through a read-only mapping:
    /// no consumer is registered and no lane claimed, so the ring and its
    /// processes are not disturbed. A segment that is not a valid ring throws
    /// what is wrong with it (`.foreignSegment`, `.corruptSegment`,
    /// `.versionMismatch`); one that cannot be opened throws `.unavailable`
    /// or `.systemCall`.
    public static func inspect(_ location: RingLocation) throws(ConveyorError) -> RingSnapshot {
        let holders = DescriptorScan.now().holders(of: location)
        return try snapshot(location, holders: holders)
    }

    /// Every ring this process can see: the named segments in /dev/shm
    /// (any name, recognized by their first bytes, and every
    /// "conveyor-ring-" name) and the anonymous rings open in live processes
    /// (found through /proc/PID/fd). Read-only, like `inspect`.
    public static func survey() -> RingSurvey {
        let scan = DescriptorScan.now()
        var rings: [RingSnapshot] = []
        var problems: [RingProblem] = []
        var seen: Set<SystemCalls.FileIdentity> = []
        func read(_ location: RingLocation, identity: SystemCalls.FileIdentity?) {
            if let identity { seen.insert(identity) }
            do {
                rings.append(try snapshot(location, holders: identity.map { scan.holders[$0] ?? [] } ?? []))
            } catch {
                problems.append(RingProblem(location: location, error: error))
            }
        }
        for name in SystemCalls.directoryEntries(SystemCalls.sharedMemoryDirectory).sorted() {
            let isRing = SharedSegment.peek(name: name, count: 8)?.withUnsafeBytes(RingLayout.startsWithMagic) ?? false
            guard name.hasPrefix(namePrefix) || isRing else { continue }
            read(.named(name), identity: SystemCalls.fileIdentity(RingLocation.named(name).path)?.identity)
        }
        for (identity, holders) in scan.holders.sorted(by: { $0.value[0].description < $1.value[0].description })
        where !seen.contains(identity) && scan.anonymous.contains(identity) {
            read(holders[0], identity: identity)
        }
        return RingSurvey(rings: rings, problems: problems, unreadableProcesses: scan.unreadable)
    }

    private static func snapshot(_ location: RingLocation, holders: [RingLocation]) throws(ConveyorError) -> RingSnapshot {
        if case let .named(name) = location { try SharedSegment.validateName(name) }
        let name: String? = if case let .named(name) = location { name } else { nil }
        // Only the header's totalBytes is mapped: the file may be longer, even sparse and huge.
        let segment = try SharedSegment.openReadOnly(path: location.path, name: name, prefix: RingLayout.maxHeaderBytes) {
            (fileSize, head) throws(ConveyorError) in try ringBytes(fileSize: fileSize, head: head, expecting: nil)
        }
        let layout = try RingLayout.validate(UnsafeRawPointer(segment.base), size: segment.size, expected: nil)
        let ring = SharedRing(segment: segment, layout: layout)
        let creator = ring.memory.creator
        return RingSnapshot(
            location: location, holders: holders, creatorPID: creator.pid,
            creatorAlive: PeerLiveness.of(pid: creator.pid, startTime: creator.startTime) != .gone,
            slotBytes: layout.slotBytes, itemBytes: layout.payloadBytes, info: ring.info)
    }
}

/// The ring segments open in every process this one can read, by file
/// identity, from /proc/PID/fd.
private struct DescriptorScan {
    /// Each segment's holders, as (pid, descriptor), in pid order.
    var holders: [SystemCalls.FileIdentity: [RingLocation]] = [:]
    /// The identities that are anonymous ring segments (memfds labelled as ours).
    var anonymous: Set<SystemCalls.FileIdentity> = []
    /// Processes whose descriptors could not be listed.
    var unreadable: [Int32] = []

    static let memfdPrefix = "/memfd:conveyor-ring"

    static func now() -> DescriptorScan {
        var scan = DescriptorScan()
        let pids = SystemCalls.directoryEntries("/proc").compactMap { Int32($0) }.sorted()
        for pid in pids {
            let directory = "/proc/\(pid)/fd"
            guard let descriptors = try? SystemCalls.directoryNames(directory) else {
                // A process that ended meanwhile is not a reading failure.
                if SystemCalls.processStatus(pid) != nil { scan.unreadable.append(pid) }
                continue
            }
            for descriptor in descriptors.compactMap({ Int32($0) }).sorted() {
                let path = directory + "/\(descriptor)"
                guard let target = SystemCalls.linkTarget(path) else { continue }
                let isMemfd = target.hasPrefix(memfdPrefix)
                guard isMemfd || target.hasPrefix(SystemCalls.sharedMemoryDirectory + "/"),
                      let identity = SystemCalls.fileIdentity(path)?.identity
                else { continue }
                scan.holders[identity, default: []].append(.descriptor(pid: pid, descriptor: descriptor))
                if isMemfd { scan.anonymous.insert(identity) }
            }
        }
        return scan
    }

    /// The holders of the segment at `location`.
    func holders(of location: RingLocation) -> [RingLocation] {
        guard let identity = SystemCalls.fileIdentity(location.path)?.identity else { return [] }
        return holders[identity] ?? []
    }
}

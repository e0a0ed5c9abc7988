/// What this build knows of every ring format version, old ones included:
/// enough of each header to tell whose segment it is, so that a segment a
/// crashed program of an older (or this) version left behind can be
/// recognized and removed. Attaching still requires `RingLayout.version`.
///
/// The versions (docs/FORMAT.md and its history):
/// - 1: 32-bit owner and consumer pids beside their start times.
/// - 2: owner and consumer entries are 64-bit process words; `consumerChanges`.
/// - 3: a slot's `holder` is a process word (a dead consumer's items are adopted).
/// - 4: a change to the take step only.
///
/// In every one of them the header's first 128 bytes are laid out alike:
/// the magic at 0, the version (u32) at 8, the creator's pid (u32) at 80
/// and its /proc start time (u64, field 22 in full) at 88.
enum RingFormatHistory {
    /// Where one version keeps its creator's pid and start time.
    struct CreatorFields: Equatable {
        /// Byte offset of the creator's pid (u32, little-endian).
        var pid: Int
        /// Byte offset of the creator's /proc start time (u64, little-endian; 0: not recorded).
        var startTime: Int
    }

    /// The versions this build can read a creator from.
    static let knownVersions: ClosedRange<UInt32> = 1...max(4, RingLayout.version)

    /// Where version `version` keeps its creator, or nil for a version this build does not know.
    static func creatorFields(version: UInt32) -> CreatorFields? {
        switch version {
        case knownVersions: CreatorFields(pid: 80, startTime: 88)
        default: nil
        }
    }

    /// A ring header's version and creator, read from its first bytes
    /// (`Header.immutableBytes` of them, read from the file, not mapped).
    struct Creator: Equatable {
        /// The header's format version.
        var version: UInt32
        /// The creator's pid.
        var pid: Int32
        /// The creator's /proc start time (0 when the header has none).
        var startTime: UInt64
    }

    /// What `header` (a segment's first bytes) says about its version and
    /// creator; nil when it is not a ring header (no magic, too short) or of
    /// a version this build does not know.
    static func creator(of header: UnsafeRawBufferPointer) -> Creator? {
        guard header.count >= RingLayout.Header.immutableBytes, RingLayout.startsWithMagic(header) else { return nil }
        let version = UInt32(littleEndian: header.loadUnaligned(fromByteOffset: RingLayout.Header.version, as: UInt32.self))
        guard let fields = creatorFields(version: version) else { return nil }
        return Creator(
            version: version,
            pid: Int32(bitPattern: UInt32(littleEndian: header.loadUnaligned(fromByteOffset: fields.pid, as: UInt32.self))),
            startTime: UInt64(littleEndian: header.loadUnaligned(fromByteOffset: fields.startTime, as: UInt64.self)))
    }
}

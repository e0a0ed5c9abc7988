/// The owner of one shared memory mapping: an anonymous memory file (memfd)
/// or a named POSIX shared memory object, mapped shared and writable.
///
/// Anonymous segments leave nothing behind when every process holding them
/// ends, crash or not; child processes get them by inheriting the descriptor.
/// Named segments are created with mode 0600 under a name nobody can guess
/// and are unlinked by their creator when it closes them.
///
/// Creating reserves the whole size (posix_fallocate), so too little shared
/// memory is an error at creation, never a SIGBUS later.
struct SharedSegment: ~Copyable {
    /// The first mapped byte.
    let base: UnsafeMutableRawPointer
    /// Mapped bytes.
    let size: Int
    /// The descriptor (close-on-exec), owned by this value.
    let descriptor: Int32
    /// The name without its leading "/", for a named segment.
    let name: String?
    /// Whether closing unlinks the name (the creator's duty).
    private let unlinksName: Bool
    /// Catches the file being shrunk under the mapping (unless its size is sealed).
    let sizeGuard: SegmentGuard

    private init(base: UnsafeMutableRawPointer, size: Int, descriptor: Int32, name: String?, unlinksName: Bool) {
        self.base = base
        self.size = size
        self.descriptor = descriptor
        self.name = name
        self.unlinksName = unlinksName
        self.sizeGuard = SegmentGuard(base: base, size: size, descriptor: descriptor)
    }

    /// Whether another process shrank the file under this mapping: its pages
    /// now hold private zeros and the segment's contents are lost.
    var truncated: Bool { sizeGuard.truncated }

    /// How errors name the segment.
    var displayName: String { name.map { "/dev/shm/\($0)" } ?? "memfd (descriptor \(descriptor))" }

    /// A new anonymous segment of `size` bytes, reserved and zero-filled.
    static func createAnonymous(size: Int, label: String) throws(ConveyorError) -> SharedSegment {
        let descriptor = try SystemCalls.memfdCreate(label)
        return try sizeAndMap(descriptor, size: size, name: nil, path: "memfd (\(label))", seal: true)
    }

    /// A new named segment of `size` bytes (mode 0600, created exclusively),
    /// reserved and zero-filled. The name must not already exist.
    static func createNamed(_ name: String, size: Int) throws(ConveyorError) -> SharedSegment {
        try validateName(name)
        let descriptor = try SystemCalls.shmOpen(name, create: true)
        do {
            return try sizeAndMap(descriptor, size: size, name: name, path: SystemCalls.sharedMemoryDirectory)
        } catch {
            try? SystemCalls.shmUnlink(name)
            throw error
        }
    }

    /// Sizes and reserves the new file, seals its size when `seal` (a memfd), and maps it.
    private static func sizeAndMap(
        _ descriptor: Int32, size: Int, name: String?, path: String, seal: Bool = false
    ) throws(ConveyorError) -> SharedSegment {
        do throws(ConveyorError) {
            guard size > 0 else { throw ConveyorError.invalidArgument("a segment needs at least one byte") }
            try SystemCalls.truncate(descriptor, size: size)
            try SystemCalls.reserve(descriptor, size: size, path: path)
            if seal { try SystemCalls.sealSize(descriptor) }
            let base = try SystemCalls.mapShared(descriptor, size: size)
            return SharedSegment(base: base, size: size, descriptor: descriptor, name: name, unlinksName: name != nil)
        } catch {
            SystemCalls.close(descriptor)
            throw error
        }
    }

    /// How much of an existing segment to map, decided from its file size
    /// and its first bytes (read without mapping, up to the `prefix` asked
    /// for, fewer if the file is shorter): the caller validates its header
    /// there and returns the size the header gives.
    typealias Sizing = (_ fileSize: Int, _ prefix: UnsafeRawBufferPointer) throws(ConveyorError) -> Int

    /// Maps the segment behind `descriptor` (which the caller keeps; this
    /// value holds a duplicate), `sizing` bytes of it.
    static func attach(descriptor: Int32, prefix: Int, sizing: Sizing) throws(ConveyorError) -> SharedSegment {
        let own = try SystemCalls.duplicate(descriptor)
        return try mapExisting(own, name: nil, prefix: prefix, sizing: sizing)
    }

    /// Maps the named segment `name`, `sizing` bytes of it.
    static func attach(name: String, prefix: Int, sizing: Sizing) throws(ConveyorError) -> SharedSegment {
        try validateName(name)
        let descriptor: Int32
        do {
            descriptor = try SystemCalls.shmOpen(name, create: false)
        } catch .systemCall(_, let code) where code == 2 /* ENOENT */ {
            throw .unavailable("no shared memory segment named '\(name)' exists in /dev/shm; "
                + "check the name, or whether its creator already closed it")
        }
        return try mapExisting(descriptor, name: name, prefix: prefix, sizing: sizing)
    }

    /// Maps the file at `path` (a segment in /dev/shm, or /proc/PID/fd/N of
    /// another process) shared and read-only, `sizing` bytes of it (a file
    /// may be longer than its segment, even sparse and huge). Writing
    /// through `base` faults: the segment is only for reading.
    static func openReadOnly(path: String, name: String?, prefix: Int, sizing: Sizing) throws(ConveyorError) -> SharedSegment {
        let descriptor: Int32
        do {
            descriptor = try SystemCalls.openReadOnly(path)
        } catch .systemCall(_, let code) where code == 2 /* ENOENT */ {
            throw .unavailable("\(path) does not exist (any more); check the name, or whether its holder ended")
        }
        return try mapExisting(descriptor, name: name, prefix: prefix, sizing: sizing, readOnly: true)
    }

    /// Reads the file's head, asks `sizing` how much to map (a file may be
    /// longer than its segment, even sparse and huge), and maps that much.
    private static func mapExisting(
        _ descriptor: Int32, name: String?, prefix: Int, sizing: Sizing, readOnly: Bool = false
    ) throws(ConveyorError) -> SharedSegment {
        do throws(ConveyorError) {
            let fileSize = try SystemCalls.fileSize(descriptor)
            guard fileSize > 0 else {
                throw ConveyorError.corruptSegment("the segment is empty (0 bytes; its creator may have died while making it)")
            }
            let head = UnsafeMutableRawBufferPointer.allocate(byteCount: min(prefix, fileSize), alignment: 16)
            defer { head.deallocate() }
            let read = SystemCalls.readPrefix(descriptor, into: head)
            let size = try sizing(fileSize, UnsafeRawBufferPointer(rebasing: head[..<read]))
            guard size > 0, size <= fileSize else {
                throw ConveyorError.corruptSegment("it claims \(size) bytes but the file holds \(fileSize)")
            }
            let base = readOnly ? UnsafeMutableRawPointer(mutating: try SystemCalls.mapSharedReadOnly(descriptor, size: size))
                : try SystemCalls.mapShared(descriptor, size: size)
            return SharedSegment(base: base, size: size, descriptor: descriptor, name: name, unlinksName: false)
        } catch {
            SystemCalls.close(descriptor)
            throw error
        }
    }

    deinit {
        sizeGuard.stop()
        SystemCalls.unmap(base, size: size)
        SystemCalls.close(descriptor)
        if unlinksName, let name, (try? SystemCalls.shmUnlink(name)) != nil {
            ConveyorLog.logger.debug("segment removed", metadata: ["segment": "\(name)", "bytes": "\(size)"])
        }
    }

    /// A name is one path component of printable ASCII, at most 200 bytes.
    static func validateName(_ name: String) throws(ConveyorError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 200, bytes != Array(".".utf8), bytes != Array("..".utf8),
              bytes.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "/") })
        else {
            throw .invalidArgument("'\(name)' is not a usable segment name: use 1 to 200 printable ASCII "
                + "characters without '/' or spaces")
        }
    }

    /// Names in /dev/shm that start with `prefix`.
    static func namedSegments(prefix: String) -> [String] {
        SystemCalls.directoryEntries(SystemCalls.sharedMemoryDirectory).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Up to `count` leading bytes of the named segment, without mapping it
    /// (so a short or hostile file cannot fault this process); nil if it cannot be opened.
    static func peek(name: String, count: Int) -> [UInt8]? {
        guard let descriptor = try? SystemCalls.shmOpen(name, create: false) else { return nil }
        defer { SystemCalls.close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { SystemCalls.readPrefix(descriptor, into: $0) }
        return Array(bytes.prefix(read))
    }

    /// Removes the named segment `name`.
    static func unlink(name: String) throws(ConveyorError) {
        try validateName(name)
        try SystemCalls.shmUnlink(name)
    }
}

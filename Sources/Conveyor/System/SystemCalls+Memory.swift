import CConveyor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Shared memory and files: memfd, POSIX shared memory objects, sizing,
/// reservation, mapping, and the few file reads the ring needs (/proc).
extension SystemCalls {
    /// Where named POSIX shared memory objects live on Linux.
    static let sharedMemoryDirectory = "/dev/shm"

    /// A new anonymous memory file (close-on-exec); its descriptor.
    static func memfdCreate(_ name: String) throws(ConveyorError) -> Int32 {
        try retrying("memfd_create") { cconveyor_memfd_create(name, 1) }
    }

    /// Seals a memfd's size: nobody (an attached process included) can shrink
    /// it under the mappings, which would turn their next touch into SIGBUS.
    static func sealSize(_ descriptor: Int32) throws(ConveyorError) {
        try retrying("fcntl(F_ADD_SEALS)") { cconveyor_seal_size(descriptor) }
    }

    /// Opens the POSIX shared memory object `name` (a leading "/" is added),
    /// creating it exclusively with mode 0600 when `create` is set.
    static func shmOpen(_ name: String, create: Bool) throws(ConveyorError) -> Int32 {
        let flags = create ? (O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC) : (O_RDWR | O_CLOEXEC)
        return try retrying("shm_open(\(name))") { shm_open("/" + name, flags, 0o600) }
    }

    /// Removes the POSIX shared memory object `name`.
    static func shmUnlink(_ name: String) throws(ConveyorError) {
        try retrying("shm_unlink(\(name))") { shm_unlink("/" + name) }
    }

    /// Sets the file's size.
    static func truncate(_ descriptor: Int32, size: Int) throws(ConveyorError) {
        try retrying("ftruncate") { ftruncate(descriptor, off_t(size)) }
    }

    /// Reserves `size` bytes of backing store now, so that running out of room
    /// is an error here and never a SIGBUS on first touch. `path` names the
    /// file system for the error.
    ///
    /// The size is first checked against the room there is (the file
    /// system's free space, and the memory available), because tmpfs
    /// fallocate would otherwise take memory until the OOM killer steps in.
    static func reserve(_ descriptor: Int32, size: Int, path: String) throws(ConveyorError) {
        let available = availableSharedMemory(descriptor)
        if let available, size > available {
            throw .insufficientSharedMemory(needed: size, available: available, path: path)
        }
        while true {
            let code = posix_fallocate(descriptor, 0, off_t(size))
            if code == 0 { return }
            if code == EINTR { continue }
            if code == ENOSPC || code == ENOMEM || code == EFBIG {
                throw .insufficientSharedMemory(needed: size, available: available, path: path)
            }
            throw .systemCall(name: "posix_fallocate", errno: code)
        }
    }

    /// The bytes a shared memory file can still grow by: the free space of
    /// its file system (none is reported for memfd's internal mount), and at
    /// most the memory available (MemAvailable + SwapFree); nil if unknown.
    static func availableSharedMemory(_ descriptor: Int32) -> Int? {
        var info = statvfs()
        var fileSystem: Int?
        if fstatvfs(descriptor, &info) == 0, info.f_blocks > 0 {
            fileSystem = Int(info.f_bavail) * Int(info.f_frsize)
        }
        let memory = availableMemory()
        switch (fileSystem, memory) {
        case let (file?, memory?): return min(file, memory)
        case let (file, memory): return file ?? memory
        }
    }

    /// MemAvailable + SwapFree from /proc/meminfo, in bytes, or nil.
    static func availableMemory() -> Int? {
        guard let bytes = readSmallFile("/proc/meminfo", limit: 16384) else { return nil }
        var total: Int?
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let text = String(decoding: line, as: UTF8.self)
            guard text.hasPrefix("MemAvailable:") || text.hasPrefix("SwapFree:") else { continue }
            let kibibytes = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            total = (total ?? 0) + kibibytes * 1024
        }
        return total
    }

    /// The file's size in bytes.
    static func fileSize(_ descriptor: Int32) throws(ConveyorError) -> Int {
        var info = stat()
        try retrying("fstat") { fstat(descriptor, &info) }
        return Int(info.st_size)
    }

    /// Maps `size` bytes of the file, shared and writable.
    static func mapShared(_ descriptor: Int32, size: Int) throws(ConveyorError) -> UnsafeMutableRawPointer {
        guard let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
              address != MAP_FAILED
        else { throw lastError("mmap") }
        return address
    }

    /// Maps the pages of [address, address + count) of a shared writable
    /// mapping now, writable, so that first writes there fault no more
    /// (madvise MADV_POPULATE_WRITE; the pages are reserved already). Best
    /// effort: on kernels before 5.14, or for pages past the file's end,
    /// nothing happens and the first touches fault as before.
    static func prefaultWritable(_ address: UnsafeMutableRawPointer, count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard count > 0, page > 0 else { return }
        let start = Int(bitPattern: address) / page * page
        let end = (Int(bitPattern: address) + count + page - 1) / page * page
        _ = cconveyor_populate_write(UnsafeMutableRawPointer(bitPattern: start), end - start)
    }

    /// Unmaps a mapping made by `mapShared`.
    static func unmap(_ address: UnsafeMutableRawPointer, size: Int) {
        _ = munmap(address, size)
    }

    /// Closes a descriptor. EINTR is not retried: on Linux the descriptor is gone either way.
    static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    /// A close-on-exec duplicate of a descriptor.
    static func duplicate(_ descriptor: Int32) throws(ConveyorError) -> Int32 {
        try retrying("fcntl(F_DUPFD_CLOEXEC)") { fcntl(descriptor, F_DUPFD_CLOEXEC, 0) }
    }

    /// The names in a directory (without "." and ".."); empty when it cannot be read.
    static func directoryEntries(_ path: String) -> [String] {
        (try? directoryNames(path)) ?? []
    }

    /// Up to `limit` bytes of a small file (such as one in /proc), or nil when it cannot be opened.
    static func readSmallFile(_ path: String, limit: Int = 4096) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = bytes.withUnsafeMutableBytes { raw in
                read(descriptor, raw.baseAddress! + filled, limit - filled)
            }
            if count < 0, cconveyor_errno() == EINTR { continue }
            if count <= 0 { break }
            filled += count
        }
        return Array(bytes.prefix(filled))
    }

    /// Reads up to `count` bytes at offset 0 of a descriptor into `buffer`; how many were read.
    static func readPrefix(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(filled))
            if count < 0, cconveyor_errno() == EINTR { continue }
            if count <= 0 { break }
            filled += count
        }
        return filled
    }
}

/// Guarding mappings of files that another process may shrink.
extension SystemCalls {
    /// Whether the file's size is sealed (a memfd with F_SEAL_SHRINK): nobody can shrink it.
    static func isShrinkSealed(_ descriptor: Int32) -> Bool {
        let seals = cconveyor_file_seals(descriptor)
        return seals >= 0 && seals & 0x0002 != 0  // F_SEAL_SHRINK (not imported)
    }

    /// Registers a mapping with the process's SIGBUS guard (see fault_guard.c):
    /// a fault there maps zero pages over it and sets `flag`. The entry, or
    /// nil when the guard is full or cannot be installed.
    static func guardMapping(_ base: UnsafeMutableRawPointer, size: Int,
                             flag: UnsafeMutablePointer<UInt32>) -> Int32? {
        let entry = cconveyor_guard_add(base, size, flag)
        return entry < 0 ? nil : entry
    }

    /// Unregisters a guard entry (before the mapping is unmapped).
    static func unguardMapping(_ entry: Int32) {
        cconveyor_guard_remove(entry)
    }

    /// Maps private zero pages over `size` bytes at `base` (a mapping whose file was shrunk).
    static func mapZeros(_ base: UnsafeMutableRawPointer, size: Int) {
        _ = cconveyor_map_zeros(base, size)
    }

    /// A new inotify instance (non-blocking, close-on-exec).
    static func inotifyCreate() throws(ConveyorError) -> Int32 {
        try retrying("inotify_init1") { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
    }

    /// Watches the file behind `descriptor` for modification (writes and size changes).
    static func inotifyWatchModification(_ inotify: Int32, descriptor: Int32) throws(ConveyorError) -> Int32 {
        try retrying("inotify_add_watch") { inotify_add_watch(inotify, "/proc/self/fd/\(descriptor)", UInt32(IN_MODIFY)) }
    }

    /// Stops an inotify watch.
    static func inotifyUnwatch(_ inotify: Int32, _ watch: Int32) {
        _ = inotify_rm_watch(inotify, watch)
    }

    /// The watch descriptors of the inotify events ready now (none when none is).
    static func inotifyReadyWatches(_ inotify: Int32) -> [Int32] {
        var watches: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            if count < 0, cconveyor_errno() == EINTR { continue }
            guard count > 0 else { return watches }
            var offset = 0
            // struct inotify_event: i32 wd, u32 mask, u32 cookie, u32 len, then len bytes of name.
            while offset + 16 <= count {
                buffer.withUnsafeBytes { raw in
                    watches.append(raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                    offset += 16 + Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                }
            }
        }
    }
}

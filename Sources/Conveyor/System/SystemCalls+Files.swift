import CConveyor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Read-only file access: open, size, map, read and list (closing and
/// unmapping are in `SystemCalls+Memory.swift`). Datasets use these and
/// never call the system themselves.
extension SystemCalls {
    /// What a directory entry is.
    enum EntryKind: Sendable {
        case regularFile, directory, other
    }

    /// Opens `path` for reading (close-on-exec); returns the descriptor.
    static func openReadOnly(_ path: String) throws(ConveyorError) -> Int32 {
        try retrying("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) }
    }

    /// The size in bytes and the kind of the open file `descriptor`.
    static func fileStatus(_ descriptor: Int32, path: String) throws(ConveyorError) -> (size: Int, kind: EntryKind) {
        var info = stat()
        try retrying("fstat(\(path))") { fstat(descriptor, &info) }
        return (Int(info.st_size), kind(ofMode: info.st_mode))
    }

    /// The size in bytes and kind of `path`, following symbolic links.
    static func pathStatus(_ path: String) throws(ConveyorError) -> (size: Int, kind: EntryKind) {
        var info = stat()
        try retrying("stat(\(path))") { stat(path, &info) }
        return (Int(info.st_size), kind(ofMode: info.st_mode))
    }

    private static func kind(ofMode mode: mode_t) -> EntryKind {
        switch mode & S_IFMT {
        case S_IFREG: .regularFile
        case S_IFDIR: .directory
        default: .other
        }
    }

    /// Maps `length` bytes of `descriptor` read-only and private.
    static func mapReadOnly(_ descriptor: Int32, length: Int, path: String) throws(ConveyorError) -> UnsafeRawPointer {
        let address = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else { throw lastError("mmap(\(path))") }
        return UnsafeRawPointer(address)
    }

    /// The whole content of the file at `path`.
    static func readFile(_ path: String) throws(ConveyorError) -> [UInt8] {
        let descriptor = try openReadOnly(path)
        defer { close(descriptor) }
        let expected = try fileStatus(descriptor, path: path).size
        var bytes = [UInt8](repeating: 0, count: expected)
        var filled = 0
        while filled < expected {
            let start = filled
            let got = try retrying("read(\(path))") {
                bytes.withUnsafeMutableBytes { buffer in read(descriptor, buffer.baseAddress! + start, expected - start) }
            }
            if got == 0 { break }  // the file shrank while being read
            filled += got
        }
        if filled < expected { bytes.removeLast(expected - filled) }
        return bytes
    }

    /// The names and kinds of the entries in the directory at `path`, without
    /// "." and "..", in no particular order. A symbolic link to a regular file
    /// is a regular file; any other link is `.other`.
    static func listDirectory(_ path: String) throws(ConveyorError) -> [(name: String, kind: EntryKind)] {
        guard let directory = opendir(path) else { throw lastError("opendir(\(path))") }
        defer { closedir(directory) }
        var entries: [(name: String, kind: EntryKind)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let kind: EntryKind
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_REG): kind = .regularFile
            case Int32(DT_DIR): kind = .directory
            case Int32(DT_UNKNOWN): kind = (try? pathStatus(path + "/" + name).kind) ?? .other
            case Int32(DT_LNK):
                // A link to a file counts as the file; links to directories are
                // not followed, so a cycle of links cannot loop forever.
                let target = (try? pathStatus(path + "/" + name).kind) ?? .other
                kind = target == .regularFile ? .regularFile : .other
            default: kind = .other
            }
            entries.append((name, kind))
        }
        return entries
    }

    /// Sleeps the calling thread for `nanoseconds`, resuming after signals.
    static func sleep(nanoseconds: Int64) {
        guard nanoseconds > 0 else { return }
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1, cconveyor_errno() == EINTR {
            request = remaining
        }
    }
}

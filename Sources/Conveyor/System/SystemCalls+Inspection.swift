import CConveyor

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What ring inspection needs from the system: the descriptors of other
/// processes (through /proc), a file's identity, and read-only shared maps.
extension SystemCalls {
    /// The device and inode that name one file, whatever path reaches it.
    struct FileIdentity: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
    }

    /// The names in the directory at `path` (without "." and ".."); throws when it cannot be read.
    static func directoryNames(_ path: String) throws(ConveyorError) -> [String] {
        guard let directory = opendir(path) else { throw lastError("opendir(\(path))") }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// The target of the symbolic link `path` (such as /proc/PID/fd/N), or nil when it cannot be read.
    static func linkTarget(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBufferPointer { raw in
            raw.baseAddress!.withMemoryRebound(to: CChar.self, capacity: raw.count) { readlink(path, $0, raw.count) }
        }
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    /// The identity and size of the file `path` reaches (following links), or nil.
    static func fileIdentity(_ path: String) -> (identity: FileIdentity, size: Int)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return (FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)), Int(info.st_size))
    }

    /// Maps `size` bytes of the file shared and read-only: this process sees
    /// every write of the others and can write nothing.
    static func mapSharedReadOnly(_ descriptor: Int32, size: Int) throws(ConveyorError) -> UnsafeRawPointer {
        guard let address = mmap(nil, size, PROT_READ, MAP_SHARED, descriptor, 0), address != MAP_FAILED
        else { throw lastError("mmap(PROT_READ)") }
        return UnsafeRawPointer(address)
    }
}

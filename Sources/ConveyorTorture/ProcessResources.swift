#if canImport(Glibc)
import Glibc
#endif

/// This process's resident memory and open descriptors, and the ring
/// segments in /dev/shm, read from /proc and /dev/shm.
public struct ProcessResources: Sendable, Hashable {
    /// Resident set size, KiB (VmRSS).
    public var residentKiB: Int
    /// Open file descriptors.
    public var descriptors: Int

    /// The values now.
    public static func now() -> ProcessResources {
        var resident = 0
        if let status = readText("/proc/self/status"),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) {
            resident = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return ProcessResources(residentKiB: resident, descriptors: entries(of: "/proc/self/fd").count - 1)
    }

    /// The names in `directory` (without . and ..).
    static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// The ring segments in /dev/shm created by process `pid`.
    public static func ringSegments(of pid: Int32) -> [String] {
        entries(of: "/dev/shm").filter { $0.hasPrefix("conveyor-ring-\(pid)-") }
    }

    /// A small text file's contents.
    static func readText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 16384)
        let count = read(fd, &bytes, bytes.count)
        return count < 0 ? nil : String(decoding: bytes.prefix(count), as: UTF8.self)
    }
}

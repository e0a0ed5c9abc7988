import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// A child process of the torture suite: the torture program in one of its
/// roles (`TortureRole`), with its output in an unlinked temporary file.
/// Dropping it kills and reaps the child.
final class TortureChild: Sendable {
    let child: ChildProcess
    private let output: Int32

    /// Spawns `executable role arguments…`, sharing `ring` (its descriptor
    /// in $CONVEYOR_RING_FD) when given.
    init(_ executable: String, role: String, _ arguments: [String], ring: SharedRing? = nil) throws {
        output = TortureChild.temporaryFile()
        let errors = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(errors) }
        var environment = ["SWIFT_BACKTRACE": "enable=no"]
        var inherit: [Int32] = []
        if let ring {
            environment[TortureRole.ringDescriptorKey] = "\(ring.descriptor)"
            inherit.append(ring.descriptor)
        }
        do {
            child = try ChildProcess.spawn(
                executable: executable, name: "conveyor-torture: \(role)", arguments: ["role", role] + arguments,
                environment: environment, inheriting: inherit, standardOutput: output, standardError: errors)
        } catch {
            close(output)
            throw error
        }
    }

    deinit {
        try? child.kill()
        _ = try? child.wait(timeout: .seconds(10))
        close(output)
    }

    var pid: Int32 { child.pid }

    /// Everything the child wrote to its standard output so far.
    var bytes: [UInt8] { TortureChild.bytes(of: output) }

    /// The contents of the file `fd`, from its start.
    static func bytes(of fd: Int32) -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        while true {
            let count = pread(fd, &buffer, buffer.count, off_t(offset))
            guard count > 0 else { break }
            all += buffer.prefix(count)
            offset += count
        }
        return all
    }

    /// The output as text.
    var text: String { TortureChild.contents(of: output) }

    /// The contents of the file `fd` as text.
    static func contents(of fd: Int32) -> String { String(decoding: bytes(of: fd), as: UTF8.self) }

    /// Waits until the output holds a line starting with `prefix`, or the child ends, or `timeout` passes.
    func waitForLine(_ prefix: String, timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            if !child.isRunning { return text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }).map(String.init) }
            usleep(500)
        }
        return nil
    }

    /// A new unlinked temporary file, close-on-exec.
    static func temporaryFile() -> Int32 {
        var template = Array("/tmp/conveyor-torture-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        return fd
    }
}

import ConveyorTestDatasets
import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// The ring schema the helper uses: "f" f32[floats] and "i" i32[ints].
func helperSchema(floats: Int = 64, ints: Int = 4) throws -> Schema {
    try TestItems.schema(floats: floats, ints: ints)
}

/// Float rows of helper item k (the helper's `TestItems` rule).
func helperRows(_ k: Int, maximum: Int) -> Int { TestItems().floatRows(k, maximum: maximum) }

/// The helper executable beside the test binary (.build/debug/conveyor-test-helper).
let helperPath = builtProduct(named: "conveyor-test-helper")

/// The executable `name` of this package, beside the test binary.
func builtProduct(named name: String) -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = count > 0 ? String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    // The test binary is .build/<config>/<Package>PackageTests.xctest (a file on Linux).
    var directory = exe
    while let slash = directory.lastIndex(of: "/") {
        directory = String(directory[..<slash])
        if access(directory + "/" + name, X_OK) == 0 { return directory + "/" + name }
    }
    return name
}

/// A running helper process with its output captured in an unlinked temporary file.
final class HelperProcess {
    let child: ChildProcess
    private let output: Int32
    private let errors: Int32

    /// Spawns the helper (or `executable`) with `arguments` and `environment`;
    /// `ring` (when given) is inherited as $CONVEYOR_RING_FD.
    init(_ arguments: [String], ring: SharedRing? = nil, environment: [String: String] = [:],
         executable: String = helperPath) throws {
        output = HelperProcess.temporaryFile()
        errors = HelperProcess.temporaryFile()
        var environment = environment
        var inherit: [Int32] = []
        if let ring {
            environment["CONVEYOR_RING_FD"] = "\(ring.descriptor)"
            inherit.append(ring.descriptor)
        }
        child = try ChildProcess.spawn(executable: executable, arguments: arguments, environment: environment,
                                       inheriting: inherit, standardOutput: output, standardError: errors)
        SpawnedProcesses.record(child.pid)
    }

    deinit {
        try? child.kill()
        _ = try? child.wait(timeout: .seconds(10))
        close(output)
        close(errors)
    }

    var pid: Int32 { child.pid }

    /// Kills the helper (SIGKILL) and reaps it.
    func killAndReap() throws {
        try child.kill()
        _ = try child.wait(timeout: .seconds(30))
    }

    /// Everything the helper printed so far.
    var stdout: String { HelperProcess.contents(output) }
    var stderr: String { HelperProcess.contents(errors) }

    /// Waits until the output holds a line starting with `prefix`; that line.
    func waitForLine(_ prefix: String, timeout: Duration = .seconds(30)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            if !child.isRunning, !stdout.contains(prefix) {
                throw HelperFailure(message: "helper ended before printing '\(prefix)': \(stderr)")
            }
            usleep(1000)
        }
        throw HelperFailure(message: "helper printed no '\(prefix)' within \(timeout): \(stdout) \(stderr)")
    }

    private static func temporaryFile() -> Int32 {
        var template = Array("/tmp/conveyor-test-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        return fd
    }

    private static func contents(_ fd: Int32) -> String {
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        let count = pread(fd, &bytes, bytes.count, 0)
        return String(decoding: bytes.prefix(max(0, count)), as: UTF8.self)
    }
}

struct HelperFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Resources a ring test may leak: descriptors for ring segments and pidfds,
/// and ring segments in /dev/shm. Counting only these keeps the check exact
/// while unrelated tests run in parallel.
struct RingResources: Equatable, CustomStringConvertible {
    var descriptors: [String]
    var segments: [String]

    static func now() -> RingResources {
        var descriptors: [String] = []
        for name in SystemCalls.directoryEntries("/proc/self/fd") {
            var buffer = [CChar](repeating: 0, count: 512)
            let count = readlink("/proc/self/fd/\(name)", &buffer, buffer.count - 1)
            guard count > 0 else { continue }
            let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.contains("conveyor-ring") || target.contains("pidfd") { descriptors.append(target) }
        }
        return RingResources(descriptors: descriptors.sorted(),
                             segments: SharedSegment.namedSegments(prefix: SharedRing.namePrefix).filter(mayBeOurs))
    }

    /// Whether a segment is this test process's: its creator (the pid in its
    /// name) is this process, a process the test support spawned
    /// (`SpawnedProcesses`, alive or dead: a dead helper's segment is the leak
    /// this check exists to find), or a live child of this process (such as
    /// a loader's worker). A segment of any other process, alive or dead, is
    /// another run's on the same machine and is not counted.
    static func mayBeOurs(_ segment: String) -> Bool {
        guard let creator = Int32(segment.dropFirst(SharedRing.namePrefix.count).prefix { $0 != "-" }) else {
            return true
        }
        if creator == getpid() || SpawnedProcesses.contains(creator) { return true }
        guard let stat = SystemCalls.readSmallFile("/proc/\(creator)/stat") else { return false }
        let text = String(decoding: stat, as: UTF8.self)
        guard let end = text.lastIndex(of: ")") else { return false }
        // After the command name: state, then the parent's PID.
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 1, let parent = Int32(fields[1]) else { return false }
        return parent == getpid()
    }

    var description: String { "descriptors \(descriptors), segments \(segments)" }
}

/// Runs `body` and checks that it left no ring descriptor, pidfd or segment behind.
func expectNoLeaks(_ body: () throws -> Void) throws {
    let before = RingResources.now()
    try body()
    let after = RingResources.now()
    #expect(after.descriptors.count <= before.descriptors.count, "leaked: \(after) (before: \(before))")
    #expect(Set(after.segments).subtracting(before.segments).isEmpty, "leaked: \(after) (before: \(before))")
}

/// Checks helper items: contents, duplicates, and which were seen.
typealias ItemChecker = TestItemChecker

import Foundation

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "conveyor-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `bytes` at `relativePath`, creating folders on the way.
    func write(_ bytes: [UInt8], to relativePath: String) throws {
        let url = URL(fileURLWithPath: path + "/" + relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs python3 with `script` as its program; returns its exit status.
@discardableResult
func runPython(_ script: String) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    try process.run()
    SpawnedProcesses.record(process.processIdentifier)
    process.waitUntilExit()
    return process.terminationStatus
}

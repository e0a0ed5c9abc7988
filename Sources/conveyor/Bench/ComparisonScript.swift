import Foundation

/// A Python script under Tests/Comparisons that does a scenario's work the
/// way another library does, printing rows in the shared JSON format.
enum ComparisonScript {
    /// The rows `python3 Tests/Comparisons/NAME ARGUMENTS…` prints; none
    /// when the source tree, python3 or what the script imports is missing.
    static func rows(_ name: String, _ arguments: [String]) -> [BenchRow] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Comparisons/" + name).path
        guard FileManager.default.fileExists(atPath: script) else { return [] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return [] }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let decoder = JSONDecoder()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? decoder.decode(BenchRow.self, from: Data($0.utf8))
        }
    }
}

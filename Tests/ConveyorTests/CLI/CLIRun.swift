import Foundation
import Testing
@testable import Conveyor

/// The built `conveyor` executable, run as a user runs it.
let conveyorPath = builtProduct(named: "conveyor")

/// What a run of the command left: how it ended and what it printed.
struct CLIRun {
    var status: ChildProcess.ExitStatus
    var stdout: String
    var stderr: String

    /// Runs `conveyor arguments…` to its end (at most `timeout`).
    init(_ arguments: [String], timeout: Duration = .seconds(300)) throws {
        let process = try HelperProcess(arguments, executable: conveyorPath)
        status = try process.child.wait(timeout: timeout)
        stdout = process.stdout
        stderr = process.stderr
    }

    /// The output parsed as one JSON object.
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(stdout)")
    }
}

import Foundation
import Testing
@testable import Conveyor

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite struct DemoCommandTests {
    @Test func aSmallDemoPrintsItsTableAndWritesAChartWithASeriesPerMode() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let chart = directory.path + "/demo.svg"
        let run = try CLIRun([
            "demo", "--samples", "96", "--batch-size", "16", "--epochs", "2", "--workers", "2",
            "--decode-ms", "0.05", "--read-ms", "0.05", "--step-ms", "1", "--chart", chart,
        ])
        #expect(run.status == .exited(0), "\(run.stderr)")
        // The table: a row per mode with its epoch time, stall and speed-up.
        for label in ["inline (no workers)", "2 worker threads", "2 worker processes"] {
            #expect(run.stdout.split(separator: "\n").contains { $0.hasPrefix(label) && $0.contains("×") },
                    "no row for \(label): \(run.stdout)")
        }
        #expect(run.stdout.contains("speed-up"))
        #expect(run.stdout.contains("chart: \(chart)"))

        let document = try XMLDocument(contentsOf: URL(fileURLWithPath: chart))
        let root = try #require(document.rootElement())
        #expect(root.localName == "svg")
        func attribute(_ name: String, of element: XMLElement) -> String? {
            element.attributes?.first { $0.localName == name || $0.name == name }?.stringValue
        }
        let lines = root.elements(forLocalName: "polyline", uri: "http://www.w3.org/2000/svg")
            .filter { attribute("data-series", of: $0) != nil }
        #expect(lines.map { attribute("data-series", of: $0) } == ["inline", "threads", "processes"])
        // Each series has a point per batch: 6 batches an epoch, 2 epochs.
        #expect(lines.map { (attribute("points", of: $0) ?? "").split(separator: " ").count } == [12, 12, 12])
    }

    @Test func badOptionsAreRefusedWithTheirReason() throws {
        let run = try CLIRun(["demo", "--workers", "0"], timeout: .seconds(60))
        #expect(run.status == .exited(64))
        #expect(run.stderr.contains("--workers"))
    }

    @Test func versionAndHelpName() throws {
        let run = try CLIRun(["--version"], timeout: .seconds(60))
        #expect(run.status == .exited(0))
        #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        let help = try CLIRun(["--help"], timeout: .seconds(60))
        for command in ["demo", "inspect", "clean", "bench"] { #expect(help.stdout.contains(command)) }
    }
}

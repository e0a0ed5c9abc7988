import ArgumentParser
import Conveyor
import Foundation

/// `conveyor demo`: a training loop fed three ways, side by side.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Shows what Conveyor is for: a training loop fed inline, by worker threads, by worker processes.",
        discussion: """
            A stand-in training loop (each step waits --step-ms, as a loop waits for its GPU) iterates synthetic \
            64×64×3 images, each costing --decode-ms of CPU and --read-ms of waiting to make. Fetched inline, \
            the loop waits for every batch; with workers, batches are made while the step runs. Prints a live line \
            per run, then a table (epoch time, data stall, speed-up over inline), and writes a chart (SVG): \
            the time to get each batch, and the epoch time of each mode.
            """
    )

    @Option(help: "Worker threads or processes.")
    var workers = 2

    @Option(help: "Samples per batch.")
    var batchSize = 32

    @Option(help: "Samples per epoch.")
    var samples = 6144

    @Option(help: "Epochs per mode.")
    var epochs = 2

    @Option(name: .customLong("decode-ms"), help: "CPU milliseconds each sample costs to make.")
    var decodeMilliseconds = 0.15

    @Option(name: .customLong("read-ms"), help: "Milliseconds each sample waits, as for storage.")
    var readMilliseconds = 0.3

    @Option(name: .customLong("step-ms"), help: "Milliseconds each training step takes.")
    var stepMilliseconds = 12.0

    @Option(parsing: .upToNextOption, help: "Modes to run, in order (inline, threads, processes).")
    var modes: [DemoMode] = DemoMode.allCases

    @Option(help: "Where to write the chart (SVG).")
    var chart = "conveyor-demo.svg"

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard workers >= 1, workers <= 64 else { throw ValidationError("--workers must be 1...64, not \(workers)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard decodeMilliseconds >= 0, readMilliseconds >= 0, stepMilliseconds >= 0 else {
            throw ValidationError("--decode-ms, --read-ms and --step-ms cannot be negative")
        }
        guard !modes.isEmpty else { throw ValidationError("name at least one mode") }
    }

    func run() throws {
        logging.apply()
        let workload = DemoWorkload(
            samples: samples, batchSize: batchSize, epochs: epochs, workers: workers,
            decodeMilliseconds: decodeMilliseconds, readMilliseconds: readMilliseconds,
            stepMilliseconds: stepMilliseconds,
            workPerSample: SyntheticImageDataset.work(for: .nanoseconds(Int64(decodeMilliseconds * 1e6))))
        Terminal.line("conveyor demo: " + workload.summary.data)
        Terminal.line("  " + workload.summary.costs)
        Terminal.line()
        var results: [DemoResult] = []
        for mode in modes {
            results.append(try DemoRun(workload: workload, mode: mode).run())
        }
        Terminal.line()
        DemoTable(results: results, epochs: epochs).print()
        let url = URL(fileURLWithPath: chart)
        try DemoChart(results: results, workload: workload).svg.write(to: url, atomically: true, encoding: .utf8)
        Terminal.line()
        Terminal.line("chart: \(url.path)")
    }
}

/// The demo's result table: one row per mode.
struct DemoTable {
    let results: [DemoResult]
    let epochs: Int

    func print() {
        let baseline = results.first { $0.mode == .inline }
        Terminal.line(Format.pad("mode", 24) + Format.pad("epoch time", 12, right: true)
            + Format.pad("batches/s", 12, right: true) + Format.pad("data stall", 12, right: true)
            + Format.pad("speed-up", 10, right: true) + "  workers busy")
        Terminal.line(String(repeating: "-", count: 90))
        for result in results {
            let batchesPerSecond = Double(result.fetchSeconds.count) / max(1e-9, result.epochSeconds.reduce(0, +))
            let speedUp = baseline.map { Format.fixed($0.meanEpochSeconds / max(1e-9, result.meanEpochSeconds), 2) + "×" } ?? "–"
            let busy = result.epochStats.last?.workerBusyShare.map { Format.fixed($0 * 100, 0) + "%" }
                .joined(separator: " ") ?? ""
            Terminal.line(Format.pad(result.label, 24)
                + Format.pad(Format.duration(result.meanEpochSeconds), 12, right: true)
                + Format.pad(Format.fixed(batchesPerSecond, 1), 12, right: true)
                + Format.pad(Format.fixed(result.dataStallShare * 100, 1) + "%", 12, right: true)
                + Format.pad(speedUp, 10, right: true) + "  " + (busy.isEmpty ? "–" : busy))
        }
        Terminal.line()
        Terminal.line("epoch time: the mean of \(epochs) epoch\(epochs == 1 ? "" : "s"), steps included; "
            + "data stall: the share of it the loop waited for a batch.")
    }
}

import ArgumentParser
import Conveyor
import Foundation

/// `conveyor inspect`: the Conveyor rings on this machine, read without
/// touching them.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Shows the shared-memory rings this user can see: lanes, depths, producers, consumers.",
        discussion: """
            Finds named rings in /dev/shm and anonymous ones open in live processes (/proc/PID/fd). Reading maps \
            the segment read-only: no consumer is registered, no lane claimed, nothing written. A segment that is \
            not a valid ring is reported with what is wrong, never trusted.
            """
    )

    @Argument(help: ArgumentHelp("One ring: its name in /dev/shm, or PID:FD for an anonymous ring held by process PID.",
                                 valueName: "ring"))
    var ring: String?

    @Option(help: ArgumentHelp("Redraw every SECONDS (1 when no value is given), with items/s and MB/s per lane.",
                               valueName: "seconds"))
    var watch: Double?

    @Flag(help: "Print JSON (one document; with --watch, one a line) for scripts.")
    var json = false

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let watch, !(watch > 0) { throw ValidationError("--watch needs a positive number of seconds") }
    }

    func run() throws {
        logging.apply()
        var previous: (time: Double, report: RingReport)?
        while true {
            let report = RingReport.take(ring.map(RingLocation.init(parsing:)))
            let now = BenchSupport.now()
            let rates = previous.map { RingRates(from: $0.report, to: report, seconds: now - $0.time) }
            if json {
                Terminal.line(try report.json(rates: rates))
            } else {
                if watch != nil, Terminal.isInteractive { Terminal.write(Terminal.clearScreen) }
                if watch != nil { Terminal.line("conveyor inspect — " + Date().formatted(date: .omitted, time: .standard)) }
                Terminal.write(report.text(rates: rates))
            }
            guard let watch else {
                if ring != nil, report.rings.isEmpty { throw ExitCode(1) }
                return
            }
            if !Terminal.isInteractive, !json { Terminal.line(String(repeating: "─", count: 60)) }
            previous = (now, report)
            BenchSupport.sleep(seconds: watch)
        }
    }

    /// Gives a bare `--watch` (followed by nothing, another option or the
    /// ring) its default of 1 second, since an option's value cannot be optional.
    static func normalizingWatch(_ arguments: [String]) -> [String] {
        guard arguments.first == "inspect" else { return arguments }
        var result: [String] = []
        for (index, argument) in arguments.enumerated() {
            result.append(argument)
            if argument == "--watch" {
                let next = arguments.indices.contains(index + 1) ? arguments[index + 1] : nil
                if next.flatMap(Double.init) == nil { result.append("1") }
            }
        }
        return result
    }
}

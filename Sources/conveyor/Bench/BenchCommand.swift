import ArgumentParser

/// `conveyor bench`: runs named scenarios and prints a table or JSON rows.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Runs benchmark scenarios (all when none is named).",
        discussion: "Scenarios: " + BenchCatalog.all.map(\.name).joined(separator: ", ")
    )

    @Argument(help: "Scenarios to run; all when none is given.")
    var scenarios: [String] = []

    @Flag(help: "Print one JSON object a line (the shared row format) instead of a table.")
    var json = false

    @Flag(help: "One repetition per scenario instead of the best of three.")
    var quick = false

    @Flag(help: "List the scenarios and exit.")
    var list = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        logging.apply()
        if list {
            for scenario in BenchCatalog.all { print("\(scenario.name)\t\(scenario.summary)") }
            return
        }
        let known = Dictionary(BenchCatalog.all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let chosen = try scenarios.isEmpty ? BenchCatalog.all : scenarios.map { name in
            guard let scenario = known[name] else {
                throw ValidationError("unknown scenario '\(name)'; known: \(known.keys.sorted().joined(separator: ", "))")
            }
            return scenario
        }
        let table = BenchTable()
        if !json { table.printHeader() }
        for scenario in chosen {
            for row in try await scenario.run(quick) {
                if json { Terminal.line(row.json) } else { table.print(row) }
            }
        }
    }
}

/// The human-readable form of the rows, each written through as it is
/// printed (a pipe sees every row when it is done, not at the end).
struct BenchTable {
    func printHeader() {
        Terminal.line(pad("scenario", 24) + pad("impl", 38) + lpad("items/s", 14) + lpad("MB/s", 10) + "  other")
        Terminal.line(String(repeating: "-", count: 100))
    }

    func print(_ row: BenchRow) {
        var other: [String] = []
        if let p50 = row.p50_us { other.append("p50 \(p50) µs") }
        if let p99 = row.p99_us { other.append("p99 \(p99) µs") }
        if let efficiency = row.efficiency { other.append("efficiency \(efficiency)") }
        if let idle = row.idle_cpu_percent { other.append("idle CPU \(idle)%") }
        if let wakeups = row.idle_wakeups_per_s { other.append("idle wake-ups \(wakeups)/s") }
        let faults = row.corrupt + row.missing + row.duplicated
        if faults > 0 { other.append("FAULTS corrupt \(row.corrupt) missing \(row.missing) duplicated \(row.duplicated)") }
        if let note = row.note { other.append(note) }
        Terminal.line(pad(row.scenario, 24) + pad(row.impl, 38) + lpad(format(row.items_per_s), 14)
            + lpad(format(row.MB_per_s), 10) + "  " + other.joined(separator: "; "))
    }

    private func format(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(value)
    }

    private func pad(_ text: String, _ width: Int) -> String { Format.pad(text, width) }

    private func lpad(_ text: String, _ width: Int) -> String { Format.pad(text, width, right: true) }
}

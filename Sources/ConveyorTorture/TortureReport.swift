import Conveyor

/// What one torture part did and found.
public struct TortureReport: Sendable, CustomStringConvertible {
    /// The part.
    public var part: TorturePart
    /// Its seed.
    public var seed: UInt64
    /// Rounds run.
    public var rounds = 0
    /// Items (or batches) checked.
    public var itemsChecked = 0
    /// Processes killed or crashed on purpose.
    public var kills = 0
    /// Executions of the fuzz harness.
    public var executions = 0
    /// Broken promises, one line each (empty: none).
    public var faults: [String] = []
    /// Findings that are not faults (known holes, measurements).
    public var notes: [String] = []
    /// This process's resident memory and open descriptors at the start and the end.
    public var resources: (start: ProcessResources, end: ProcessResources)?
    /// Seconds the part took.
    public var seconds = 0.0

    /// An empty report of `part` run with `seed`.
    public init(part: TorturePart, seed: UInt64) {
        self.part = part
        self.seed = seed
    }

    /// Runs `body` as part `part`: it gets the report to fill, a generator
    /// seeded with the part's seed, and the start; the report gets the time
    /// taken and, unless `body` set them, the resources before and after.
    static func measuring(
        _ part: TorturePart, _ settings: TortureSettings,
        _ body: (inout TortureReport, inout SeededRandom, ContinuousClock.Instant) -> Void
    ) -> TortureReport {
        var report = TortureReport(part: part, seed: settings.seed)
        var random = SeededRandom(seed: settings.seed)
        let before = ProcessResources.now()
        let start = ContinuousClock.now
        body(&report, &random, start)
        if report.resources == nil { report.resources = (before, ProcessResources.now()) }
        report.seconds = Double((ContinuousClock.now - start).components.seconds)
        return report
    }

    /// Records a fault (kept to the first 50 lines).
    mutating func fault(_ line: String) {
        if faults.count < 50 { faults.append(line) } else if faults.count == 50 { faults.append("… more faults") }
    }

    /// One paragraph: the figures, then the faults and notes.
    public var description: String {
        var line = "\(part.rawValue): seed \(seed), rounds \(rounds), items checked \(itemsChecked), kills \(kills)"
        if executions > 0 { line += ", executions \(executions)" }
        line += ", faults \(faults.count), \(Int(seconds.rounded())) s"
        if let resources {
            line += "; RSS \(resources.start.residentKiB) → \(resources.end.residentKiB) KiB"
                + ", descriptors \(resources.start.descriptors) → \(resources.end.descriptors)"
        }
        for fault in faults { line += "\n  FAULT \(fault)" }
        for note in notes { line += "\n  note: \(note)" }
        return line
    }
}

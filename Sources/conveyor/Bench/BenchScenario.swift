/// A named workload that `conveyor bench` can run; it returns one row per
/// implementation measured.
struct BenchScenario: Sendable {
    /// The name, as in the shared SCENARIOS.md where it is one of those.
    var name: String
    /// One line on what it measures.
    var summary: String
    /// Runs the workload; `quick` asks for a single repetition.
    var run: @Sendable (_ quick: Bool) async throws -> [BenchRow]
}

/// Every scenario, in the order `conveyor bench` runs them. Each concern
/// adds its list in its own file.
enum BenchCatalog {
    static var all: [BenchScenario] {
        machineScenarios + queueScenarios + ringScenarios + loaderScenarios + processLoaderScenarios + loaderNpyScenarios
            + streamScenarios
    }
}

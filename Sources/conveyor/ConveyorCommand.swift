import ArgumentParser
import Conveyor

/// The `conveyor` command: a demo, tools to inspect and clean shared-memory
/// rings, and benchmarks.
@main
struct ConveyorCommand: AsyncParsableCommand {
    /// The version `conveyor --version` prints.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "conveyor",
        abstract: "Keeps a training loop fed: a demo, ring tools and benchmarks.",
        version: version,
        subcommands: [DemoCommand.self, InspectCommand.self, CleanCommand.self, BenchCommand.self, PackCommand.self,
                      RingProducerCommand.self]
    )

    /// Becomes a DataLoader worker process when this program was re-run as
    /// one (the demo's and the bench's process workers); otherwise parses and runs.
    static func main() async {
        WorkerProcess.bootstrap(datasets: ScenarioItemsDataset.self, PerSampleNpyDataset.Description.self)
        await main(InspectCommand.normalizingWatch(Array(CommandLine.arguments.dropFirst())))
    }
}

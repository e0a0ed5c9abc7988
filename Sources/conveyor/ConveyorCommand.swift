import ArgumentParser
import Conveyor

/// The `conveyor` command: benchmarks and tools for Conveyor.
@main
struct ConveyorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conveyor",
        abstract: "Keeps a training loop fed: benchmarks and tools.",
        subcommands: [BenchCommand.self, RingProducerCommand.self]
    )

    /// Becomes a DataLoader worker process when this program was re-run as
    /// one (the bench's process-loader scenarios); otherwise parses and runs.
    static func main() async {
        WorkerProcess.bootstrap(datasets: ScenarioItemsDataset.self, PerSampleNpyDataset.Description.self)
        await main(nil)
    }
}

import ArgumentParser

/// The `conveyor` command: benchmarks and tools for Conveyor.
@main
struct ConveyorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conveyor",
        abstract: "Keeps a training loop fed: benchmarks and tools.",
        subcommands: [BenchCommand.self, RingProducerCommand.self]
    )
}

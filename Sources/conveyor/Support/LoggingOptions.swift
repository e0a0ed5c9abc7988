import ArgumentParser
import Conveyor
import Logging

/// `--log-level`: shows the library's lifecycle log (loader started, worker
/// spawned or died, ring created or removed, stale segment removed) on
/// standard error.
struct LoggingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Log Conveyor's lifecycle events at this level and above, to standard error "
        + "(trace, debug, info, notice, warning, error, critical).", valueName: "level"))
    var logLevel: Logger.Level = .warning

    /// Sends the library's log to standard error at `logLevel`.
    func apply() {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "conveyor")
        logger.logLevel = logLevel
        ConveyorLog.logger = logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

import Logging
import Synchronization

/// Where Conveyor reports lifecycle events: a loader started, a worker
/// process spawned or died, a ring created or released, a stale segment
/// removed. Silent until you set a logger; nothing is logged on a hot path
/// (no line per item or batch).
///
/// ```swift
/// LoggingSystem.bootstrap(StreamLogHandler.standardError)
/// var logger = Logger(label: "conveyor")
/// logger.logLevel = .debug
/// ConveyorLog.logger = logger
/// ```
///
/// Levels: `.info` for a loader starting and a stale segment removed,
/// `.debug` for worker processes spawned and rings created or released,
/// `.warning` for a worker process that died while it was needed.
public enum ConveyorLog {
    private static let current = Mutex(Logger(label: "conveyor", factory: { _ in SwiftLogNoOpLogHandler() }))

    /// The logger Conveyor writes to; by default one that drops everything.
    public static var logger: Logger {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

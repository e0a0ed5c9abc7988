import ArgumentParser
import Conveyor

/// A way the demo fetches batches: in the training loop itself, or ahead of
/// it on worker threads or in worker processes.
enum DemoMode: String, CaseIterable, ExpressibleByArgument, Codable {
    case inline
    case threads
    case processes

    /// The loader backend for `workers` workers.
    func backend(workers: Int) -> WorkerBackend {
        switch self {
        case .inline: .inline
        case .threads: .threads(workers)
        case .processes: .processes(workers)
        }
    }

    /// How the table and chart name the mode.
    func label(workers: Int) -> String {
        let plural = workers == 1 ? "" : "s"
        return switch self {
        case .inline: "inline (no workers)"
        case .threads: "\(workers) worker thread\(plural)"
        case .processes: "\(workers) worker process\(workers == 1 ? "" : "es")"
        }
    }

    /// The series colour in the chart (colour-blind safe: Okabe–Ito).
    var colour: String {
        switch self {
        case .inline: "#D55E00"
        case .threads: "#0072B2"
        case .processes: "#009E73"
        }
    }
}

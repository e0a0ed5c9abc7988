import Conveyor
import ConveyorTestDatasets
import ConveyorTorture

#if canImport(Glibc)
import Glibc
#endif

/// The torture suite: the promises of the ring and the loader, checked
/// round after round with real processes, real kills and real shared memory.
///
///     conveyor-torture --minutes N [--seed S] [--only NAME[,NAME…]] [--rounds R]
///
/// The parts (see `TorturePart`) share the minutes; `--only` runs some of
/// them with all of it; `--rounds` caps each part's rounds (executions, for
/// the fuzzer). The seed is printed first: pass it again to replay a run.
/// Exit status 0 when no part found a fault, 1 otherwise.
///
/// The program is its own helper: `role …` runs a child's role, and the
/// DataLoader workers it spawns are itself (the bootstrap below).
@main
struct Torture {
    static func main() {
        WorkerProcess.bootstrap(datasets: ProbeDataset.self)
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "role" { TortureRole.serve(Array(arguments.dropFirst())) }
        setenv("SWIFT_BACKTRACE", "enable=no", 1)  // workers crashed on purpose print no backtrace
        var minutes = 1.0
        var seed = UInt64(truncatingIfNeeded: ContinuousClock.now.hashValue) ^ UInt64(getpid())
        var only: [TorturePart]?
        var rounds: Int?
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--minutes": minutes = Double(value()) ?? { fail("--minutes takes a number") }()
            case "--seed": seed = UInt64(value()) ?? { fail("--seed takes an unsigned integer") }()
            case "--rounds": rounds = Int(value()) ?? { fail("--rounds takes an integer") }()
            case "--only":
                only = value().split(separator: ",").map { name in
                    TorturePart(rawValue: String(name)) ?? {
                        fail("no part '\(name)'; the parts: \(TorturePart.allCases.map(\.rawValue).joined(separator: ", "))")
                    }()
                }
            case "--help", "-h":
                print("usage: conveyor-torture --minutes N [--seed S] [--only NAME[,NAME…]] [--rounds R]")
                print("parts: \(TorturePart.allCases.map(\.rawValue).joined(separator: ", "))")
                exit(0)
            default: fail("unknown argument '\(arguments[index])' (see --help)")
            }
            index += 1
        }
        let parts = only ?? TorturePart.allCases
        print("conveyor-torture: seed \(seed), \(minutes) minutes, parts \(parts.map(\.rawValue).joined(separator: " "))")
        var faults = 0
        var reports: [TortureReport] = []
        for part in parts {
            let share = only == nil ? TortureSuite.share(of: part) : 1.0 / Double(parts.count)
            let settings = TortureSettings(
                seed: seed, budget: .milliseconds(Int64(minutes * 60_000 * share)), rounds: rounds,
                executable: executablePath(), log: { print($0) })
            let report = TortureSuite.run(part, settings)
            print(report)
            reports.append(report)
            faults += report.faults.count
        }
        print("== conveyor-torture, seed \(seed): \(faults) faults")
        for report in reports {
            print("  \(report.part.rawValue): rounds \(report.rounds), items checked \(report.itemsChecked), "
                + "kills \(report.kills), executions \(report.executions), faults \(report.faults.count)"
                + (report.resources.map { ", RSS \($0.start.residentKiB)→\($0.end.residentKiB) KiB, fds \($0.start.descriptors)→\($0.end.descriptors)" } ?? ""))
        }
        exit(faults == 0 ? 0 : 1)
    }

    static func fail(_ message: String) -> Never {
        print("conveyor-torture: \(message)")
        exit(2)
    }

    /// This program's path, for its children (posix_spawn needs a path; /proc/self/exe is the caller's own).
    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "/proc/self/exe" }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

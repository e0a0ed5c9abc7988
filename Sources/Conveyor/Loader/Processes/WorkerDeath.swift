/// How the death of a worker process is told to the user: its status and a
/// hint at the usual cause.
enum WorkerDeath {
    /// `.workerDied` for worker `worker` (pid `pid`) that ended with `status`
    /// (nil: unknown) while the loader still needed it.
    static func error(worker: Int, pid: Int32, status: ChildProcess.ExitStatus?) -> ConveyorError {
        switch status {
        case let .signaled(signal)?:
            return .workerDied(worker: worker, pid: pid, status: ChildProcess.ExitStatus.signaled(signal).description,
                               hint: hint(forSignal: signal))
        case let .exited(code)?:
            let hint: String? = switch code {
            case WorkerProcess.startFailureStatus: "it could not start; its error is on its standard error"
            case 0: "a worker whose main does not call WorkerProcess.bootstrap first runs the program itself and ends"
            default: nil
            }
            return .workerDied(worker: worker, pid: pid, status: "\(ChildProcess.ExitStatus.exited(code)) unexpectedly", hint: hint)
        case nil:
            return .workerDied(worker: worker, pid: pid, status: "it ended (how is unknown)", hint: nil)
        }
    }

    /// The usual cause of a death by `signal` (Linux numbering).
    static func hint(forSignal signal: Int32) -> String? {
        switch signal {
        case 9: "maybe the out-of-memory killer (check dmesg)"
        case 7: "shared memory ran out (check /dev/shm size, docker --shm-size)"
        case 11: "a crash in the dataset code"
        case 4, 5: "a Swift runtime trap in the dataset code (fatalError, index out of range, …); see its standard error"
        case 6: "an abort in the dataset code; see its standard error"
        default: nil
        }
    }
}

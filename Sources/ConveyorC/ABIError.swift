import Conveyor
import ConveyorCABI

extension ConveyorError {
    /// The header's CONVEYOR_E_* code of this case.
    var abiCode: Int32 {
        switch self {
        case .timedOut: 1
        case .closed: 2
        case .invalidArgument: 3
        case .systemCall: 4
        case .sourceFailed: 5
        case .insufficientSharedMemory: 6
        case .foreignSegment: 7
        case .versionMismatch: 8
        case .schemaMismatch: 9
        case .corruptSegment: 10
        case .itemTooLarge: 11
        case .producerDied: 12
        case .producerStalled: 13
        case .consumerGone: 14
        case .ringReset: 15
        case .workerDied: 16
        case .unavailable: 17
        case .invalidFile: 18
        case .segmentTruncated: 19
        }
    }

    /// Fills a C caller's `conveyor_error` with this error.
    func write(to error: UnsafeMutablePointer<conveyor_error>) {
        var pid: Int32 = 0, lane: Int64 = -1, index: Int64 = -1, errno: Int32 = 0
        var status = ""
        switch self {
        case let .producerDied(deadPID, deadLane, how):
            (pid, lane, status) = (deadPID, Int64(deadLane), how)
        case let .producerStalled(stalledPID, stalledLane, _):
            (pid, lane) = (stalledPID, Int64(stalledLane))
        case let .workerDied(worker, workerPID, how, _):
            (pid, lane, status) = (workerPID, Int64(worker), how)
        case let .sourceFailed(failedIndex, worker, _):
            (lane, index) = (Int64(worker ?? -1), Int64(failedIndex ?? -1))
        case let .systemCall(_, code):
            errno = code
        default:
            break
        }
        error.pointee.code = abiCode
        error.pointee.pid = pid
        error.pointee.lane = lane
        error.pointee.index = index
        error.pointee.system_errno = errno
        CText.copy(status, into: &error.pointee.status)
        CText.copy(description, into: &error.pointee.message)
    }
}

/// Runs one exported call: its error, if any, becomes the return code and
/// fills `error`; nothing is thrown or trapped across the boundary.
func abiCall(_ error: UnsafeMutablePointer<conveyor_error>?, _ body: () throws(ConveyorError) -> Void) -> Int32 {
    do {
        try body()
        if let error { error.pointee.code = 0 }
        return 0
    } catch let failure {
        if let error { failure.write(to: error) }
        return failure.abiCode
    }
}

/// The value of `body`, whose untyped error (from a generic Conveyor API
/// that rethrows) becomes a `ConveyorError`.
func typed<R>(_ body: () throws -> R) throws(ConveyorError) -> R {
    do {
        return try body()
    } catch let error as ConveyorError {
        throw error
    } catch {
        throw .invalidArgument("\(error)")
    }
}

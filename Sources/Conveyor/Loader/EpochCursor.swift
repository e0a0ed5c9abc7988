/// One iteration over one epoch, shared by the synchronous and the async
/// iterator: takes batch after batch from the workers' lanes (or makes them
/// inline), keeps the loader's position and stats, and ends cleanly after the
/// last batch, a failure, a timeout, or a newer iteration. Dropping it
/// mid-epoch cancels its run, so workers stop at once.
final class EpochCursor<Output: Sendable> {
    private let loader: DataLoader<Output>
    private let plan: BatchPlan?
    private let run: (any EpochSource<Output>)?
    /// `run` when worker processes make the batches (they can be lent in
    /// place): resolved once here, not at every batch.
    private let processRun: ProcessEpochRun?
    /// Carries each slot lease of `BatchIterator.nextLease()` out of its closure.
    let leaseKeeper = RingLeaseKeeper()
    /// The loader's `batchTimeout`, read once (not the whole configuration copied per batch).
    private let batchTimeout: Duration?
    /// Which batch comes next and whether the iteration is over; nil for a
    /// cursor that only throws its failure.
    private var position: DeliveryCursor?
    private var pendingFailure: ConveyorError?

    init(loader: DataLoader<Output>, plan: BatchPlan, firstBatch: Int, run: (any EpochSource<Output>)?) {
        self.loader = loader
        self.plan = plan
        self.run = run
        self.processRun = run as? ProcessEpochRun
        self.batchTimeout = loader.configuration.batchTimeout
        self.position = DeliveryCursor(
            assignment: run?.assignment ?? WorkerAssignment(plan: plan, firstBatch: firstBatch, workerCount: 1),
            delivery: run?.delivery ?? .ordered)
    }

    /// A cursor that throws `failure` once and then ends.
    init(loader: DataLoader<Output>, failure: ConveyorError) {
        self.loader = loader
        self.plan = nil
        self.run = nil
        self.processRun = nil
        self.batchTimeout = loader.configuration.batchTimeout
        self.position = nil
        self.pendingFailure = failure
    }

    deinit {
        run?.cancel()
    }

    /// Whether the iteration is over (its last batch delivered, or ended by an error or a cancel).
    var isFinished: Bool { pendingFailure == nil && position?.upcoming == nil }

    /// The next batch, waiting on this thread; nil at the end.
    func next() throws(ConveyorError) -> Output? {
        guard let (plan, batch) = try upcoming() else { return nil }
        let start = SystemCalls.monotonicNanoseconds()
        let message: LaneMessage<Output>?
        if let run {
            do {
                message = try run.next(batch: batch, timeout: batchTimeout)
            } catch {
                throw fail(timeoutError(error, batch: batch))
            }
        } else {
            message = loader.makeInline(plan, batch)
        }
        return try accept(message, plan: plan, waitedSince: start)
    }

    /// The next batch, suspending the task; nil at the end.
    func next() async throws -> Output? {
        guard let (plan, batch) = try upcoming() else { return nil }
        let start = SystemCalls.monotonicNanoseconds()
        let message: LaneMessage<Output>?
        if let run {
            do {
                message = try await run.next(batch: batch, timeout: batchTimeout)
            } catch let error as ConveyorError {
                throw fail(timeoutError(error, batch: batch))
            } catch {
                throw fail(error)  // the task was cancelled
            }
        } else {
            message = loader.makeInline(plan, batch)
        }
        return try accept(message, plan: plan, waitedSince: start)
    }

    /// The plan and the batch expected next, or nil when the iteration is over.
    private func upcoming() throws(ConveyorError) -> (BatchPlan, Int)? {
        if let pendingFailure {
            self.pendingFailure = nil
            throw pendingFailure
        }
        guard let plan, let batch = position?.upcoming else { return nil }
        if run?.isCancelled == true {
            position?.end()
            return nil
        }
        return (plan, batch)
    }

    private func accept(_ message: LaneMessage<Output>?, plan: BatchPlan, waitedSince start: Int64) throws(ConveyorError) -> Output? {
        switch message {
        case nil:
            position?.end()  // the lane was closed: a newer iteration or stop()
            return nil
        case let .batch(batch, output)?:
            delivered(batch, plan: plan, waitedSince: start)
            return output
        case let .failure(_, error)?:
            throw fail(error)
        }
    }

    /// Counts batch `batch` as delivered.
    private func delivered(_ batch: Int, plan: BatchPlan, waitedSince start: Int64) {
        position?.delivered()
        loader.recordDelivery(batch, of: plan, waitedNanoseconds: SystemCalls.monotonicNanoseconds() - start, run: run)
    }

    private func timeoutError(_ error: ConveyorError, batch: Int) -> ConveyorError {
        guard case .timedOut = error, let timeout = batchTimeout, let plan, let run else { return error }
        let from = run.worker(forBatch: batch).map { " from worker \($0)" } ?? ""
        return .timedOut(operation: "waiting for batch \(batch) of epoch \(plan.epoch)\(from)", after: timeout)
    }

    /// Ends the iteration after `error`; returns it to be thrown. A
    /// Conveyor error (not a cancelled task) marks the epoch failed.
    private func fail<Failure: Error>(_ error: Failure) -> Failure {
        position?.end()
        run?.cancel()
        if plan != nil, let error = error as? ConveyorError { loader.iterationFailed(error, run: run) }
        return error
    }
}

extension EpochCursor where Output == TensorBatch {
    /// The next batch lent to `body` where it lies: the worker's slot with the
    /// process backend (released when `body` returns), the batch made
    /// otherwise; nil at the end. What `body` throws is rethrown, after the
    /// batch was counted as delivered.
    /// With `keeper`, the slot's lease is moved into it after `body` instead of released.
    func next<R>(inPlace body: (borrowing BatchView) throws -> R, keeping keeper: RingLeaseKeeper? = nil) throws -> R? {
        guard let process = processRun else {
            guard let batch = try next() else { return nil }
            return try body(BatchView(batch))
        }
        // `body`'s outcome is kept here, so that all the rest runs in `lendNext`, which is not generic:
        // nothing of it is looked up at run time per batch.
        var output: R?
        var thrown: (any Error)?
        let lent = try lendNext(from: process, keeping: keeper) { (view: borrowing BatchView) in
            do { output = try body(view) } catch { thrown = error }
        }
        guard case .lent = lent else { return nil }
        if let thrown { throw thrown }
        return output
    }

    /// What `lendNext` did.
    enum Lending {
        /// A batch was lent and counted as delivered.
        case lent
        /// The iteration is over.
        case ended
        /// The batch is not there yet (only when lending if ready): nothing changed.
        case notYet
    }

    /// Lends the next batch from worker processes (with `keeper`, its slot's
    /// lease is kept there) if it is there now, without waiting; `.notYet`
    /// when it is not, and always when the batches are not made by worker
    /// processes.
    func lendNextIfReady(keeping keeper: RingLeaseKeeper, _ read: (borrowing BatchView) -> Void) throws(ConveyorError) -> Lending {
        guard let process = processRun else { return isFinished ? .ended : .notYet }
        return try lendNext(from: process, keeping: keeper, ifReady: true, read)
    }

    /// Lends the next batch from `process` to `read` and counts it as
    /// delivered; `.ended` at the end. `ifReady`: `.notYet` rather than wait.
    private func lendNext(
        from process: ProcessEpochRun, keeping keeper: RingLeaseKeeper?, ifReady: Bool = false,
        _ read: (borrowing BatchView) -> Void
    ) throws(ConveyorError) -> Lending {
        guard let (plan, batch) = try upcoming() else { return .ended }
        let start = SystemCalls.monotonicNanoseconds()
        let receipt: ProcessWorkerPool.Receipt<Void>
        do {
            receipt = ifReady
                ? try process.lendIfReady(batch: batch, keeping: keeper, read)
                : try process.lend(batch: batch, timeout: batchTimeout, keeping: keeper, read)
        } catch {
            throw fail(timeoutError(error, batch: batch))
        }
        switch receipt {
        case let .item(lent, _):
            delivered(lent, plan: plan, waitedSince: start)
            return .lent
        case let .failure(_, error):
            throw fail(error)
        case .notYet where ifReady:
            return .notYet
        case .notYet, .cancelled:
            position?.end()
            return .ended
        }
    }
}

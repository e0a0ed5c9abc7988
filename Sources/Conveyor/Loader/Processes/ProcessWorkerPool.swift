/// The process backend's workers, from the consumer's side: the shared ring
/// (an anonymous memory file: one lane per worker, `prefetch` slots per
/// lane, a slot = one collated batch), the worker processes (this program
/// re-run, spawned once with the loader), a control channel to each, and the
/// ring's one consumer.
///
/// Iterations: `startIteration` sends every worker `.run(generation, epoch,
/// first batch)`; items carry their generation, so what an abandoned
/// iteration left in the lanes is dropped when read. Shutting down sends
/// `.stop` and closes the channels, waits up to `stopGrace` for the workers
/// to exit, then kills the rest and reaps them all. Nothing is left in
/// /dev/shm whatever happens: the segment has no name.
final class ProcessWorkerPool: LoaderWorkers {
    typealias Output = TensorBatch

    let count: Int
    let busyClocks: [WorkerBusyClock]
    let slot: BatchSlot
    let delivery: Delivery
    private let ring: SharedRing
    /// The ring's consumer, used only by the iteration holding `turn`'s
    /// token (a consumer is used by one thread at a time).
    private nonisolated(unsafe) let consumer: RingConsumer
    /// The arrays of the views lent from the ring, refilled batch after
    /// batch; used, like `consumer`, only by the iteration holding `turn`.
    private nonisolated(unsafe) var viewScratch = BatchViewScratch()
    /// One token: the iteration that took it reads the ring until it puts it
    /// back. A newer iteration waits for it a wait slice at a time, until the
    /// older notices it was cancelled; no lock is held while anyone waits.
    private let turn: BoundedQueue<Bool>
    private let children: [ChildProcess]
    private let state: Locked<State>

    private struct State: Sendable {
        var channels: [ControlChannel]
        var generation: Int64 = 0
        var shutDown = false
        /// A worker's death: every later iteration fails with it.
        var failure: ConveyorError?
    }

    /// How long workers get to exit after `.stop` before they are killed.
    static let stopGrace: Duration = .seconds(1)
    /// The longest one wait on the ring lasts before the workers' processes are checked.
    static let waitSlice: Duration = .milliseconds(100)

    /// Creates the ring and spawns `configuration.workers.workerCount` workers for `description`.
    init<Description: DatasetDescription>(
        description: Description, datasetCount: Int, layout: BatchLayout, configuration: LoaderConfiguration
    ) throws(ConveyorError) {
        // A worker whose main did not call the bootstrap runs the program itself; were it to spawn workers of its
        // own, they would do the same, without end.
        guard !WorkerProcess.isWorker else {
            throw .invalidArgument(
                "this process was started as a DataLoader worker, yet it runs the program and makes a loader: "
                    + "call WorkerProcess.bootstrap(datasets:) first thing in main")
        }
        guard DatasetRegistry.contains(Description.self) else {
            throw .invalidArgument(
                "worker processes cannot make \(Description.self): it is not registered; call "
                    + "WorkerProcess.bootstrap(datasets: \(Description.self).self) first thing in main")
        }
        let count = configuration.workers.workerCount
        let slot = try BatchSlot(layout: layout)
        let ring = try SharedRing.create(schema: slot.schema, lanes: count, slotsPerLane: max(2, configuration.prefetch))
        let consumer = try ring.consumer(order: .unordered)
        let turn = try BoundedQueue<Bool>(capacity: 1)
        try turn.put(true)
        let descriptionJSON = try WorkerJob.encode(description)
        var channels: [ControlChannel] = []
        var children: [ChildProcess] = []
        do {
            for worker in 0..<count {
                let (consumerEnd, workerEnd) = try ControlChannel.pair()
                channels.append(consumerEnd)
                defer { workerEnd.close() }
                let job = WorkerJob(
                    datasetType: Description.typeName, datasetDescription: descriptionJSON, datasetCount: datasetCount,
                    batchSize: layout.batchSize, dropLast: configuration.dropLast, sampler: configuration.sampler,
                    seed: configuration.seed, worker: worker, workerCount: count, ringDescriptor: ring.descriptor,
                    controlDescriptor: workerEnd.descriptor, parentPID: SystemCalls.processID(),
                    program: WorkerProcess.programName)
                children.append(try ChildProcess.spawn(
                    executable: configuration.workerExecutable ?? "/proc/self/exe",
                    name: WorkerProcess.title(program: job.program, worker: worker),
                    environment: [WorkerJob.environmentKey: try job.environmentValue],
                    inheriting: [ring.descriptor, workerEnd.descriptor]))
                ConveyorLog.logger.debug("worker process spawned", metadata: ["worker": "\(worker)", "pid": "\(children[worker].pid)"])
            }
        } catch {
            for channel in channels { channel.close() }
            ProcessWorkerPool.killAndReap(children)
            throw error
        }
        self.count = count
        self.busyClocks = (0..<count).map { _ in WorkerBusyClock() }
        self.slot = slot
        self.delivery = configuration.delivery
        self.consumer = consumer
        self.turn = turn
        self.ring = ring
        self.children = children
        self.state = Locked(State(channels: channels))
    }

    deinit {
        shutDown()
    }

    var processIDs: [Int32] { children.map(\.pid) }

    func startIteration(plan: BatchPlan, firstBatch: Int) throws(ConveyorError) -> any EpochSource<TensorBatch> {
        let started = state.withLock { (state: inout State) -> Result<Int64, ConveyorError> in
            if let failure = state.failure { return .failure(failure) }
            guard !state.shutDown else { return .failure(.closed("the DataLoader's worker processes (they were shut down)")) }
            state.generation += 1
            for channel in state.channels {
                // A worker that is gone shows when its batch is awaited.
                try? channel.send(.run(generation: state.generation, epoch: plan.epoch, firstBatch: firstBatch))
            }
            return .success(state.generation)
        }
        let generation = try started.get()
        return ProcessEpochRun(pool: self, plan: plan, firstBatch: firstBatch, generation: generation)
    }

    func shutDown() {
        let wasRunning = state.withLock { state in
            guard !state.shutDown else { return false }
            state.shutDown = true
            for channel in state.channels {
                try? channel.send(.stop)
                channel.close()
            }
            state.channels = []
            return true
        }
        guard wasRunning else { return }
        let deadline = Deadline.after(ProcessWorkerPool.stopGrace)
        for child in children {
            let remaining = Duration.nanoseconds(max(1_000_000, deadline?.remainingNanoseconds ?? 0))
            _ = try? child.wait(timeout: remaining)
        }
        ProcessWorkerPool.killAndReap(children)
    }

    /// Kills the children still running and reaps every one (each within 10 s).
    private static func killAndReap(_ children: [ChildProcess]) {
        for child in children where child.isRunning { try? child.kill() }
        for child in children { _ = try? child.wait(timeout: .seconds(10)) }
    }

    /// Items waiting in each lane.
    var queueDepths: [Int] { ring.laneDepths }

    /// Items waiting in all lanes.
    var queuedBatches: Int { ring.queuedItems }

    /// What one `receive` found.
    enum Receipt<Item> {
        /// Batch `batch`, read.
        case item(batch: Int, Item)
        /// Batch `batch` failed in its worker.
        case failure(batch: Int, ConveyorError)
        /// Nothing within the time given.
        case notYet
        /// The iteration was cancelled meanwhile.
        case cancelled
    }

    /// Takes the item of `generation` for batch `batch` from `lane` (any
    /// lane when nil), dropping older generations' items, waiting at most
    /// `duration` (in slices of `waitSlice`, between which the worker
    /// processes are checked; a zero `duration` looks once), and reads it with `read` (given a view of the
    /// slot, valid during the call). Throws `.workerDied` for a worker that ended.
    /// `ifReady`: only what is there now, without waiting or spinning (`.notYet` otherwise; `duration` unused).
    func receive<Item>(
        batch: Int, lane: Int?, generation: Int64, plan: BatchPlan, waitingAtMost duration: Duration,
        ifReady: Bool = false, isCancelled: () -> Bool, keeping keeper: RingLeaseKeeper? = nil,
        read: (borrowing BatchView) -> Item
    ) throws(ConveyorError) -> Receipt<Item> {
        let deadline = Deadline.after(duration)
        func remaining() -> Duration { .nanoseconds(max(0, deadline?.remainingNanoseconds ?? 0)) }
        // The token is there unless another iteration holds it: taken at once, the clock not read again.
        if turn.tryGet() == nil {
            if ifReady { return .notYet }
            while try turn.get(timeout: min(ProcessWorkerPool.waitSlice, remaining())) == nil {
                if isCancelled() { return .cancelled }
                if remaining() == .zero { return .notYet }
            }
        }
        // This iteration holds the token: putting it back never waits.
        defer { try? turn.put(true) }
        return try take(batch: batch, from: consumer, lane: lane, generation: generation, plan: plan,
                        until: deadline, ifReady: ifReady, isCancelled: isCancelled, keeping: keeper, read: read)
    }

    private func take<Item>(
        batch: Int, from consumer: RingConsumer, lane: Int?, generation: Int64, plan: BatchPlan,
        until deadline: Deadline?, ifReady: Bool, isCancelled: () -> Bool, keeping keeper: RingLeaseKeeper?,
        read: (borrowing BatchView) -> Item
    ) throws(ConveyorError) -> Receipt<Item> {
        var looked = false
        while true {
            if isCancelled() { return .cancelled }
            let remaining = ifReady ? 0 : deadline?.remainingNanoseconds ?? 0
            if remaining <= 0, looked, !ifReady { return .notYet }
            looked = true
            let slice = min(ProcessWorkerPool.waitSlice, .nanoseconds(max(0, remaining)))
            let lease: RingLease
            do throws(ConveyorError) {
                if ifReady {
                    // What an abandoned iteration left is dropped below and the next item looked at, still without waiting.
                    guard let ready = try consumer.nextItemIfReady(lane: lane) else { return .notYet }
                    lease = ready
                } else if let lane {
                    lease = try consumer.next(lane: lane, timeout: slice)
                } else {
                    lease = try consumer.next(timeout: slice)
                }
            } catch .timedOut, .producerStalled {
                if isCancelled() { return .cancelled }
                if let death = deadWorker(among: lane) { throw death }
                continue
            } catch let .producerDied(pid, lane, _) {
                if isCancelled() { return .cancelled }  // stopped: the workers were told to exit
                throw died(worker: lane, pid: pid)
            }
            do {
                let tag = try slot.tag(of: lease)
                guard tag.generation == generation else { continue }  // left by an abandoned iteration
                busyClocks[lease.lane].add(tag.busyNanoseconds)
                if let index = tag.failedIndex {
                    return .failure(batch: tag.batch, .sourceFailed(
                        index: index >= 0 ? index : nil, worker: lease.lane, message: try slot.message(of: lease)))
                }
                let item = try slot.withView(
                    of: lease, epoch: plan.epoch, batch: tag.batch, indices: plan.indices(ofBatch: tag.batch),
                    reusing: &viewScratch, read)
                // Kept, the slot stays the caller's after this returns (a BatchLease releases it).
                if let keeper { keeper.lease = consume lease }
                return .item(batch: tag.batch, item)
            } catch let error as ConveyorError {
                throw error
            } catch {
                throw .corruptSegment("a batch slot could not be read: \(error)")
            }
        }
    }

    /// The first worker found ended (only worker `lane`, when given: in
    /// order, a death is reported at the first batch the worker owed), as the error to throw.
    private func deadWorker(among lane: Int?) -> ConveyorError? {
        for (worker, child) in children.enumerated() where (lane == nil || lane == worker) && child.exitStatus != nil {
            return died(worker: worker, pid: child.pid)
        }
        return nil
    }

    /// Records and returns the death of `worker`.
    private func died(worker: Int, pid: Int32) -> ConveyorError {
        let child = children.indices.contains(worker) && children[worker].pid == pid ? children[worker] : nil
        let status = try? child?.wait(timeout: .seconds(2))
        let error = WorkerDeath.error(worker: worker, pid: pid, status: status)
        ConveyorLog.logger.warning("worker process died", metadata: ["worker": "\(worker)", "pid": "\(pid)", "error": "\(error)"])
        state.withLock { state in
            if state.failure == nil { state.failure = error }
        }
        return error
    }
}

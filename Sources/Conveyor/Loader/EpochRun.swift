import Synchronization

/// Makes batch `k` of a plan in a context: the loader's view of a dataset.
typealias BatchMaker<Output> = @Sendable (_ plan: BatchPlan, _ batch: Int, _ context: SampleContext) throws -> Output

/// What travels from a worker to the consumer.
enum LaneMessage<Output: Sendable>: Sendable {
    /// Batch `k`, made.
    case batch(Int, Output)
    /// Batch `k` failed; the worker stopped after it.
    case failure(Int, ConveyorError)
}

/// One iteration's plumbing: the plan, one lane per worker (or one shared
/// lane when unordered) and a cancel switch. Which worker makes which batch
/// is the `WorkerAssignment` of (plan, first batch, worker count); worker `w`
/// puts its batches into lane `w` and the consumer reads batch `k` from the
/// lane of the worker that makes it, so delivery is in order for any count.
/// Cancelling closes the lanes, which ends every worker's job promptly.
final class EpochRun<Output: Sendable>: Sendable {
    let plan: BatchPlan
    let assignment: WorkerAssignment
    let delivery: Delivery
    private let lanes: [BoundedQueue<LaneMessage<Output>>]
    private let cancelled = Atomic<Bool>(false)

    init(plan: BatchPlan, firstBatch: Int, workerCount: Int, prefetch: Int, delivery: Delivery) throws(ConveyorError) {
        self.plan = plan
        self.assignment = WorkerAssignment(plan: plan, firstBatch: firstBatch, workerCount: workerCount)
        self.delivery = delivery
        switch delivery {
        case .ordered:
            lanes = try (0..<workerCount).map { _ throws(ConveyorError) in try BoundedQueue(capacity: prefetch) }
        case .unordered:
            lanes = [try BoundedQueue(capacity: prefetch * workerCount)]
        }
    }

    /// The lane batch `batch` arrives in: its worker's, or the shared one (unordered).
    func lane(forBatch batch: Int) -> BoundedQueue<LaneMessage<Output>> {
        lanes[worker(forBatch: batch) ?? 0]
    }

    /// Worker `worker`'s job: make its batches and put them in its lane until
    /// done, cancelled, or a batch fails (the failure is delivered in its place).
    func produce(worker: Int, seed: UInt64, make: BatchMaker<Output>, busy: WorkerBusyClock) {
        let context = SampleContext(plan: plan, seed: seed, worker: worker)
        WorkerProduction.run(
            assignment.items(ofWorker: worker),
            isStopped: { isCancelled },
            make: { batch throws(ConveyorError) in
                let start = SystemCalls.monotonicNanoseconds()
                defer { busy.add(SystemCalls.monotonicNanoseconds() - start) }
                return try ConveyorError.blaming(index: nil, worker: worker) { try make(plan, batch, context) }
            },
            deliver: { batch, outcome in
                let message: LaneMessage<Output> =
                    switch outcome {
                    case let .success(output): .batch(batch, output)
                    case let .failure(error): .failure(batch, error)
                    }
                // A closed lane: the iteration was cancelled.
                return (try? lane(forBatch: batch).put(message)) != nil
            })
    }

    /// Stops the iteration: workers leave their job at the next batch (or at
    /// once if waiting for room), and the consumer takes nothing more.
    func cancel() {
        cancelled.store(true, ordering: .releasing)
        for lane in lanes { lane.close() }
    }

    /// Whether `cancel()` was called.
    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Batches ready in each lane now.
    var queueDepths: [Int] { lanes.map(\.count) }

    /// Batches ready in all lanes now.
    var queuedBatches: Int { lanes.reduce(0) { $0 + $1.count } }
}

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
/// lane when unordered) and a cancel switch. Worker `w` of `N` makes batches
/// `w, w + N, …` from the first batch on, into lane `w`; the consumer reads
/// batch `k` from lane `k mod N`, so delivery is in order for any `N`.
/// Cancelling closes the lanes, which ends every worker's job promptly.
final class EpochRun<Output: Sendable>: Sendable {
    let plan: BatchPlan
    let firstBatch: Int
    let workerCount: Int
    let delivery: Delivery
    private let lanes: [BoundedQueue<LaneMessage<Output>>]
    private let cancelled = Atomic<Bool>(false)

    init(plan: BatchPlan, firstBatch: Int, workerCount: Int, prefetch: Int, delivery: Delivery) throws(ConveyorError) {
        self.plan = plan
        self.firstBatch = firstBatch
        self.workerCount = workerCount
        self.delivery = delivery
        switch delivery {
        case .ordered:
            lanes = try (0..<workerCount).map { _ throws(ConveyorError) in try BoundedQueue(capacity: prefetch) }
        case .unordered:
            lanes = [try BoundedQueue(capacity: prefetch * workerCount)]
        }
    }

    /// The lane batch `batch` arrives in.
    func lane(forBatch batch: Int) -> BoundedQueue<LaneMessage<Output>> {
        lanes.count == 1 ? lanes[0] : lanes[plan.worker(ofBatch: batch) ?? batch % workerCount]
    }

    /// The batches worker `worker` makes: those from `firstBatch` on that are
    /// `worker` modulo the worker count, or, of a sharded stream, those of its shards.
    func batches(forWorker worker: Int) -> [Int] {
        if let owned = plan.batches(ownedBy: worker, from: firstBatch) { return owned }
        let first = firstBatch + ((worker - firstBatch % workerCount) + workerCount) % workerCount
        return Array(stride(from: first, to: plan.batchCount, by: workerCount))
    }

    /// Worker `worker`'s job: make its batches and put them in its lane until
    /// done, cancelled, or a batch fails (the failure is delivered in its place).
    func produce(worker: Int, seed: UInt64, make: BatchMaker<Output>, busy: WorkerBusyClock) {
        let context = SampleContext(plan: plan, seed: seed, worker: worker)
        for batch in batches(forWorker: worker) {
            if isCancelled { return }
            let start = SystemCalls.monotonicNanoseconds()
            let message: LaneMessage<Output>
            do {
                message = .batch(batch, try make(plan, batch, context))
            } catch {
                message = .failure(batch, ConveyorError(blaming: error, worker: worker))
            }
            busy.add(SystemCalls.monotonicNanoseconds() - start)
            do {
                try lane(forBatch: batch).put(message)
            } catch {
                return  // closed: the iteration was cancelled
            }
            if case .failure = message { return }
        }
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
}

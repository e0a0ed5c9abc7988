/// Worker threads that live as long as their loader: started once, they take
/// one job per iteration (an epoch's share of batches) from their mailbox and
/// wait for the next. `shutDown()` (also run by `deinit`) closes the mailboxes
/// and joins every thread, so none outlives the pool; a worker in the middle
/// of a sample finishes that sample first.
final class ThreadWorkerPool: Sendable {
    /// A job: runs on a worker thread and gets the worker's index.
    typealias Job = @Sendable (_ worker: Int) -> Void

    /// The number of workers.
    let count: Int
    /// Each worker's time spent working.
    let busyClocks: [WorkerBusyClock]
    private let mailboxes: [BoundedQueue<Job>]
    private let threads = ThreadGroup()

    /// Jobs a worker may have waiting: one per iteration the consumer starts
    /// while the worker still finishes an older one.
    static let mailboxCapacity = 8

    /// Starts `count` worker threads.
    init(count: Int) throws(ConveyorError) {
        self.count = count
        busyClocks = (0..<count).map { _ in WorkerBusyClock() }
        mailboxes = try (0..<count).map { _ throws(ConveyorError) in try BoundedQueue(capacity: ThreadWorkerPool.mailboxCapacity) }
        for (worker, mailbox) in mailboxes.enumerated() {
            do {
                try threads.start {
                    // Waits without a timeout: closing the mailbox ends the wait.
                    while let job = try? mailbox.get() { job(worker) }
                }
            } catch {
                shutDown()
                throw error
            }
        }
    }

    /// Gives every worker `job`; throws when a worker's mailbox is full (it is
    /// stuck on an old job) or the pool was shut down.
    func submit(_ job: @escaping Job) throws(ConveyorError) {
        for (worker, mailbox) in mailboxes.enumerated() {
            guard try mailbox.tryPut(job) else {
                throw .unavailable(
                    "worker \(worker) still has \(ThreadWorkerPool.mailboxCapacity) unfinished iterations; "
                        + "a sample may be stuck; stop the loader and check the dataset")
            }
        }
    }

    /// Ends every worker and waits for their threads.
    func shutDown() {
        for mailbox in mailboxes { mailbox.close() }
        threads.joinAll()
    }

    deinit {
        shutDown()
    }
}

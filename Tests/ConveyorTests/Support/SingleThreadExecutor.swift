import Foundation

/// A task executor with one thread of its own, for tests about what blocks a
/// task's thread: a job that blocks the thread holds up every task that
/// prefers this executor, as it would a thread of the cooperative pool.
final class SingleThreadExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked: `jobs` is read and written only with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    /// The one shared instance; its thread runs as long as the test process.
    static let shared = SingleThreadExecutor()

    private init() {
        Thread.detachNewThread { [self] in
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }
}

/// Worker threads that their owner joins: once `joinAll()` returns (the
/// owner calls it when it stops, and from its `deinit`), every thread of the
/// group has ended, so none outlives what started it.
@usableFromInline
final class ThreadGroup: Sendable {
    private let threads = Locked<[SystemCalls.ThreadHandle]>([])

    /// An empty group.
    init() {}

    /// Starts a thread of the group running `body`.
    @usableFromInline
    func start(_ body: sending @escaping () -> Void) throws(ConveyorError) {
        let thread = try SystemCalls.startThread(body)
        threads.withLock { $0.append(thread) }
    }

    /// Waits for every started thread to end. A thread of the group calling
    /// this (the last owner reference dropped on a worker) detaches itself.
    func joinAll() {
        let all = threads.withLock { threads in
            let all = threads
            threads.removeAll()
            return all
        }
        for thread in all { SystemCalls.joinOrDetach(thread) }
    }

    deinit {
        joinAll()
    }
}

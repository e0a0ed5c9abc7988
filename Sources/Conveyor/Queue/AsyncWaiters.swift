import Synchronization

/// Tasks suspended until a queue changes: the async counterpart of the futex
/// sleepers. A waiter counts itself, then re-checks its condition, then
/// suspends; a notifier publishes its change, fences (the `FutexEvent`'s
/// `notifyAll` does so just before), then reads the count. So a change is
/// never missed, and a notifier with no waiters takes no lock.
@usableFromInline
final class AsyncWaiters: Sendable {
    private struct Waiting {
        var nextID: UInt64 = 0
        var continuations: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waiters resumed (by a timer or a cancel) before they suspended.
        var resumedEarly: Set<UInt64> = []
    }

    private let waiting = Locked(Waiting())
    private let waiterCount = Atomic<Int>(0)

    /// Resumes every suspended waiter. Call after a sequentially consistent
    /// fence that follows the change (`FutexEvent.notifyAll` issues one).
    @usableFromInline
    func resumeAll() {
        guard waiterCount.load(ordering: .sequentiallyConsistent) != 0 else { return }
        let all = waiting.withLock { waiting in
            let all = waiting.continuations
            waiting.continuations.removeAll()
            return all
        }
        waiterCount.subtract(all.count, ordering: .relaxed)
        for continuation in all.values { continuation.resume() }
    }

    /// Suspends until `resumeAll`, until `deadline`, or until the task is
    /// cancelled, whichever is first; returns at once if `isReady` already
    /// holds after the waiter is counted.
    func wait(until deadline: Deadline?, isReady: () -> Bool) async {
        let id = waiting.withLock { waiting in
            waiting.nextID += 1
            return waiting.nextID
        }
        let timer = deadline.map { deadline in
            Task { [weak self] in
                let nanoseconds = UInt64(max(0, deadline.remainingNanoseconds))
                guard (try? await Task.sleep(nanoseconds: nanoseconds)) != nil else { return }
                self?.resume(id)
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered = waiting.withLock { waiting in
                    if waiting.resumedEarly.remove(id) != nil { return false }
                    waiting.continuations[id] = continuation
                    return true
                }
                guard registered else { return continuation.resume() }
                waiterCount.add(1, ordering: .sequentiallyConsistent)
                if isReady() || Task.isCancelled { resume(id) }
            }
        } onCancel: {
            resume(id)
        }
        timer?.cancel()
        _ = waiting.withLock { $0.resumedEarly.remove(id) }
    }

    private func resume(_ id: UInt64) {
        let continuation = waiting.withLock { waiting in
            let continuation = waiting.continuations.removeValue(forKey: id)
            if continuation == nil { waiting.resumedEarly.insert(id) }
            return continuation
        }
        if let continuation {
            waiterCount.subtract(1, ordering: .relaxed)
            continuation.resume()
        }
    }
}

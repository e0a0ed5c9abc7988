import Synchronization

/// An event count on two 32-bit words (a sequence and a sleeper count) that
/// threads or processes wait on without polling: spin briefly, then sleep on
/// a futex; a notifier makes the futex call only when someone sleeps.
///
/// The words may live in process memory (`shared: false`) or in a shared
/// mapping (`shared: true`). The event does not own them.
///
/// Protocol, the classic Dekker pair: a waiter reads the sequence, counts
/// itself a sleeper (sequentially consistent), re-checks its condition and
/// only then sleeps on the sequence it read. A notifier publishes its change,
/// issues a sequentially consistent fence and reads the sleeper count; if
/// non-zero it bumps the sequence and wakes. Either the waiter sees the
/// change, or the notifier sees the sleeper; a wake between the two is
/// caught by the futex comparing the sequence.
@usableFromInline
struct FutexEvent: @unchecked Sendable {
    // @unchecked: the pointers address words that are only ever accessed atomically.
    @usableFromInline let sequence: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline let sleepers: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline let shared: Bool

    /// An event on the two words at `sequence` and `sleepers`.
    init(sequence: UnsafeMutableRawPointer, sleepers: UnsafeMutableRawPointer, shared: Bool) {
        self.sequence = sequence.assumingMemoryBound(to: Atomic<UInt32>.self)
        self.sleepers = sleepers.assumingMemoryBound(to: Atomic<UInt32>.self)
        self.shared = shared
    }

    /// Wakes every waiter if any sleeps. Call after publishing a change.
    @inlinable
    func notifyAll() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        notifyAllAfterBarrier()
    }

    /// `notifyAll` without its fence, for a caller whose change was published
    /// by a sequentially consistent read-modify-write (an exchange, say),
    /// which orders the sleeper load after it just as the fence would.
    @inlinable
    func notifyAllAfterBarrier() {
        if sleepers.pointee.load(ordering: .sequentiallyConsistent) != 0 {
            wakeAll()
        }
    }

    /// `notifyAllAfterBarrier` from inside `wait`'s re-check, where the
    /// notifier counts itself among the sleepers (`selfCounted`): it wakes
    /// only when someone else sleeps.
    @inlinable
    func notifyOthersAfterBarrier(selfCounted: Bool) {
        if sleepers.pointee.load(ordering: .sequentiallyConsistent) > (selfCounted ? 1 : 0) {
            wakeAll()
        }
    }

    /// Bumps the sequence and wakes every sleeper, whether or not one is counted.
    @usableFromInline
    func wakeAll() {
        sequence.pointee.wrappingAdd(1, ordering: .releasing)
        SystemCalls.futexWake(futexWord, shared: shared)
    }

    /// Calls `attempt` until it returns a value, first between the short
    /// waits of `backoff`, then sleeping between tries; returns nil once
    /// `deadline` passes.
    /// `sleepSlice` caps each sleep so that callers can run `attempt` for
    /// checks that no notification covers (a dead peer, say).
    @inlinable
    func wait<Result>(
        deadline: Deadline?,
        backoff: Backoff = Backoff(),
        sleepSlice: Int64? = nil,
        _ attempt: () throws -> Result?
    ) rethrows -> Result? {
        if let result = try attempt() { return result }
        var backoff = backoff
        while backoff.snooze() {
            if let result = try attempt() { return result }
            if let deadline, deadline.hasPassed { break }
        }
        while true {
            let key = sequence.pointee.load(ordering: .acquiring)
            sleepers.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
            let ready: Result?
            do {
                ready = try attempt()
            } catch {
                sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
                throw error
            }
            if let ready {
                sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
                return ready
            }
            guard case let .upTo(timeout) = FutexEvent.sleepLength(sleepSlice, until: deadline) else {
                sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
                return nil
            }
            _ = SystemCalls.futexWait(futexWord, expected: key, timeoutNanoseconds: timeout, shared: shared)
            sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
            if let result = try attempt() { return result }
            if let deadline, deadline.hasPassed { return nil }
        }
    }

    /// Sleeps until `attempt` returns a value, with no polling: between
    /// attempts it sleeps on the sequence and, with a `watcher`, on the
    /// watcher's alarm too (bumped when a watched process dies), so it wakes
    /// for a notification or a death. `sleepLimit` is asked before each
    /// sleep for its longest length (nil: until woken); it is for waits with
    /// a time-based rule of their own (a grace period) or no watcher.
    /// Returns nil once `deadline` passes.
    func wait<Result>(
        deadline: Deadline?, watcher: PeerWatcher?, sleepLimit: () -> Int64?, _ attempt: () -> Result?
    ) -> Result? {
        while true {
            let key = sequence.pointee.load(ordering: .acquiring)
            let alarmKey = watcher?.alarmValue ?? 0
            sleepers.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if let ready = attempt() {
                sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
                return ready
            }
            guard case let .upTo(timeout) = FutexEvent.sleepLength(sleepLimit(), until: deadline) else {
                sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
                return nil
            }
            if let watcher {
                _ = SystemCalls.futexWaitEither(futexWord, expected: key, or: watcher.alarm, expected: alarmKey,
                                                timeoutNanoseconds: timeout)
            } else {
                _ = SystemCalls.futexWait(futexWord, expected: key, timeoutNanoseconds: timeout, shared: shared)
            }
            sleepers.pointee.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    /// How long a sleep may last.
    @usableFromInline
    enum SleepLength {
        /// The deadline has passed: do not sleep.
        case passed
        /// At most this many nanoseconds (nil: until woken).
        case upTo(Int64?)
    }

    /// `limit` (nil: none), cut to what is left before `deadline` (nil: none).
    @inlinable
    static func sleepLength(_ limit: Int64?, until deadline: Deadline?) -> SleepLength {
        guard let deadline else { return .upTo(limit) }
        let remaining = deadline.remainingNanoseconds
        return remaining <= 0 ? .passed : .upTo(Swift.min(limit ?? remaining, remaining))
    }

    @usableFromInline
    var futexWord: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(sequence).assumingMemoryBound(to: UInt32.self)
    }
}

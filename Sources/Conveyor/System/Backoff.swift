/// How long a waiter keeps trying before it sleeps: for about 100 µs, rounds
/// of pause loops (cheap when the other side runs on another core and is
/// about to deliver, and long enough to outlast the time a woken thread takes
/// to get a core back, so that producer and consumer do not fall into putting
/// each other to sleep), each round after the fourth also yielding the
/// processor (so that a thread we wait for on our own core, or on
/// oversubscribed cores, gets to run); then a few plain yields; then the
/// caller sleeps on its futex.
@usableFromInline
struct Backoff {
    @usableFromInline let spinNanoseconds: Int64
    @usableFromInline var yieldsLeft: Int
    @usableFromInline var spinUntil: Int64 = 0
    @usableFromInline var round = 0

    /// A backoff that spins for `spinNanoseconds`, then yields `yields` times.
    @inlinable
    init(spinNanoseconds: Int64 = 100_000, yields: Int = 4) {
        self.spinNanoseconds = spinNanoseconds
        self.yieldsLeft = yields
    }

    /// No waiting at all: the caller sleeps at once (it has spun already).
    @inlinable
    static var none: Backoff { Backoff(spinNanoseconds: 0, yields: 0) }

    /// Waits a little; returns false once the caller should sleep instead.
    @inlinable
    mutating func snooze() -> Bool {
        if spinNanoseconds > 0 {
            let now = SystemCalls.monotonicNanoseconds()
            if spinUntil == 0 { spinUntil = now + spinNanoseconds }
            if now < spinUntil {
                // Rounds of 1, 2, 4 … 64 pauses between attempts; from the
                // fifth round on each also yields, so that when the thread we
                // wait for shares our core (or the cores are oversubscribed)
                // it gets to run.
                for _ in 0..<(1 << Swift.min(round, 6)) { SystemCalls.cpuRelax() }
                if round >= 4 { SystemCalls.yieldProcessor() }
                round += 1
                return true
            }
        }
        guard yieldsLeft > 0 else { return false }
        yieldsLeft -= 1
        SystemCalls.yieldProcessor()
        return true
    }
}

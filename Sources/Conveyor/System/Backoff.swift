/// The spinning half of every wait (the queue's and the ring's): how long a
/// waiter keeps re-checking before it sleeps on its futex, as a time budget
/// and a rule for pausing and yielding between checks; then a few plain
/// yields; then the caller sleeps. Spinning by time, not by count, keeps the
/// budget the same on processors whose pause instruction takes 10 or 140
/// cycles.
///
/// Use: `while backoff.snooze() { if let result = attempt() { return result } }`,
/// or `backoff.retry(attempt)`.
@usableFromInline
struct Backoff {
    /// How a waiter spends the time between two checks.
    @usableFromInline
    enum YieldRule: Sendable {
        /// Rounds of 1, 2, 4 … 64 pauses between checks; from the fifth round
        /// on each round also yields the processor. Cheap when the other side
        /// runs on another core and is about to deliver, long enough to
        /// outlast the time a woken thread takes to get a core back (so the
        /// two sides do not fall into putting each other to sleep), and the
        /// yields let a thread we wait for on our own core run. The clock is
        /// read before every check. The in-process queue's rule.
        case doublingPauses
        /// One pause between checks, and a yield instead of it every
        /// `yieldEvery`-th check; the clock is read only every 32 checks (it is
        /// not free in a VM). The shared ring's rule: its other side is
        /// another process, whose hand-over takes about a microsecond.
        case pauseEachCheck(yieldEvery: Int)
    }

    @usableFromInline let spinNanoseconds: Int64
    @usableFromInline let rule: YieldRule
    @usableFromInline var yieldsLeft: Int
    @usableFromInline var spinStart: Int64 = 0
    @usableFromInline var round = 0

    /// A backoff that spins for `spinNanoseconds` following `rule`, then yields `yields` times.
    @inlinable
    init(spinNanoseconds: Int64 = 100_000, yields: Int = 4, rule: YieldRule = .doublingPauses) {
        self.spinNanoseconds = spinNanoseconds
        self.yieldsLeft = yields
        self.rule = rule
    }

    /// No waiting at all: the caller sleeps at once (it has spun already).
    @inlinable
    static var none: Backoff { Backoff(spinNanoseconds: 0, yields: 0) }

    /// Waits a little; returns false once the caller should sleep instead.
    @inlinable @inline(__always)
    mutating func snooze() -> Bool {
        if spinNanoseconds > 0, spinStart >= 0 {
            switch rule {
            case .doublingPauses:
                let now = SystemCalls.monotonicNanoseconds()
                if spinStart == 0 { spinStart = now }
                if now - spinStart < spinNanoseconds {
                    for _ in 0..<(1 << Swift.min(round, 6)) { SystemCalls.cpuRelax() }
                    if round >= 4 { SystemCalls.yieldProcessor() }
                    round += 1
                    return true
                }
            case let .pauseEachCheck(yieldEvery):
                if round == 0 { spinStart = SystemCalls.monotonicNanoseconds() }
                if round == 0 || round & 31 != 0 || SystemCalls.monotonicNanoseconds() - spinStart < spinNanoseconds {
                    round &+= 1
                    if round % yieldEvery == 0 { SystemCalls.yieldProcessor() } else { SystemCalls.cpuRelax() }
                    return true
                }
            }
            spinStart = -1  // The budget is spent: on to the plain yields.
        }
        guard yieldsLeft > 0 else { return false }
        yieldsLeft -= 1
        SystemCalls.yieldProcessor()
        return true
    }

    /// Calls `attempt` after each snooze until it returns a value (returned),
    /// or the backoff is spent (nil: the caller sleeps now).
    @inlinable @inline(__always)
    mutating func retry<Result>(_ attempt: () throws -> Result?) rethrows -> Result? {
        while snooze() {
            if let result = try attempt() { return result }
        }
        return nil
    }
}

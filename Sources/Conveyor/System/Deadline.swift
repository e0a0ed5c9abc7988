/// A point on the monotonic clock by which a wait must end.
@usableFromInline
struct Deadline: Sendable {
    /// CLOCK_MONOTONIC nanoseconds.
    @usableFromInline let nanoseconds: Int64

    /// The deadline `timeout` from now; nil when there is no timeout.
    @usableFromInline
    static func after(_ timeout: Duration?) -> Deadline? {
        guard let timeout else { return nil }
        let now = SystemCalls.monotonicNanoseconds()
        let (sum, overflow) = now.addingReportingOverflow(max(0, timeout.conveyorNanoseconds))
        return Deadline(nanoseconds: overflow ? .max : sum)
    }

    /// Nanoseconds left; zero or less once passed.
    @usableFromInline
    var remainingNanoseconds: Int64 {
        nanoseconds - SystemCalls.monotonicNanoseconds()
    }

    /// Whether the deadline has passed.
    @usableFromInline
    var hasPassed: Bool { remainingNanoseconds <= 0 }
}

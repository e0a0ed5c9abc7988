/// How long a waiter keeps trying before it sleeps: a few rounds of
/// exponentially longer pause loops (cheap when the other side is running on
/// another core and about to deliver), then a few yields of the processor
/// (which let the other side run when the cores are oversubscribed), then
/// the caller sleeps on its futex.
struct Backoff {
    private var step = 0
    private let spinSteps: Int
    private let yieldSteps: Int

    /// A backoff with `spinSteps` pause rounds (round i pauses 2^i times) and
    /// `yieldSteps` yields.
    init(spinSteps: Int = 7, yieldSteps: Int = 4) {
        self.spinSteps = spinSteps
        self.yieldSteps = yieldSteps
    }

    /// No waiting at all: the caller sleeps at once (it has spun already).
    static var none: Backoff { Backoff(spinSteps: 0, yieldSteps: 0) }

    /// Waits a little; returns false once the caller should sleep instead.
    mutating func snooze() -> Bool {
        if step < spinSteps {
            for _ in 0..<(1 << step) { SystemCalls.cpuRelax() }
        } else if step < spinSteps + yieldSteps {
            SystemCalls.yieldProcessor()
        } else {
            return false
        }
        step += 1
        return true
    }
}

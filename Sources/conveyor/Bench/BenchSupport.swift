import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Helpers the scenarios share: timing, threads, repetition, items.
enum BenchSupport {
    /// Seconds since an arbitrary start, from the monotonic clock.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// CPU seconds used by the calling thread (getrusage RUSAGE_THREAD).
    static func threadCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // 1 = RUSAGE_THREAD
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Times the calling thread went to sleep (getrusage RUSAGE_THREAD
    /// voluntary context switches): each sleep ends in one wake-up.
    static func threadSleeps() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // 1 = RUSAGE_THREAD
        return usage.ru_nvcsw
    }

    /// Runs `body(i)` for i in 0..<count on new threads, waits for all, and
    /// returns their results in order.
    static func onThreads<Result: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> Result) -> [Result] {
        let results = ThreadResults<Result>(count)
        let done = DispatchSemaphore(value: 0)
        for index in 0..<count {
            let thread = Thread {
                let value = body(index)
                results.slots[index] = value
                done.signal()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        for _ in 0..<count { done.wait() }
        return results.values.map { $0! }
    }

    /// Starts `body` on a new thread; the returned semaphore is signalled when it ends.
    static func startThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread {
            body()
            done.signal()
        }.start()
        return done
    }

    /// Runs `measure` once when quick, else three times, and keeps the best
    /// row (highest efficiency where there is one, else highest items/s).
    static func best(quick: Bool, _ measure: () async throws -> BenchRow) async rethrows -> BenchRow {
        var best = try await measure()
        if quick { return best }
        for _ in 1..<3 {
            let row = try await measure()
            let better = row.efficiency.map { $0 > (best.efficiency ?? 0) } ?? (row.items_per_s > best.items_per_s)
            if better { best = row }
        }
        return best
    }

    /// Takes `seconds` (the simulated work and use of the sleep scenarios),
    /// to within microseconds: sleeps until 200 µs before the end, then
    /// yields the processor until it. A plain sleep ends ~50–100 µs late here
    /// (the kernel's default timer slack is 50 µs, plus the wake-up), which
    /// over a scenario's 100 sleeps of 10 ms would be the harness's error,
    /// not the code's under test.
    static func sleep(seconds: Double) {
        let deadline = now() + seconds
        let coarse = seconds - 0.000_2
        if coarse > 0 {
            var request = timespec(tv_sec: Int(coarse), tv_nsec: Int((coarse - Double(Int(coarse))) * 1e9))
            var remaining = timespec()
            while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
        }
        while now() < deadline { sched_yield() }
    }
}

/// One result slot per thread of `BenchSupport.onThreads`.
private final class ThreadResults<Value: Sendable>: @unchecked Sendable {
    // @unchecked: each thread writes only its own slot, before it signals
    // the semaphore the reader waits on.
    let slots: UnsafeMutableBufferPointer<Value?>
    init(_ count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }
    deinit {
        slots.deinitialize()
        slots.deallocate()
    }
    var values: [Value?] { Array(slots) }
}

/// Item k of the shared scenarios: F float32 values and I int32 values, all equal to k.
struct ScenarioItem: Sendable {
    var floats: [Float]
    var ints: [Int32]

    init(_ k: Int, floats: Int, ints: Int) {
        self.floats = [Float](unsafeUninitializedCapacity: floats) { buffer, count in
            ItemFill.fill(buffer, with: Float(k))
            count = floats
        }
        self.ints = [Int32](unsafeUninitializedCapacity: ints) { buffer, count in
            ItemFill.fill(buffer, with: Int32(k))
            count = ints
        }
    }

    /// Makes this item item `k`, in place (its buffers are reused when this is their only reference).
    mutating func refill(_ k: Int) {
        floats.withUnsafeMutableBufferPointer { ItemFill.fill($0, with: Float(k)) }
        ints.withUnsafeMutableBufferPointer { ItemFill.fill($0, with: Int32(k)) }
    }

    /// The index the item claims (its first int).
    var index: Int { Int(ints[0]) }

    /// Whether the first and last of each field equal `k`.
    func isIntact(_ k: Int) -> Bool {
        floats.first == Float(k) && floats.last == Float(k) && ints.first == Int32(k) && ints.last == Int32(k)
    }
}

/// Counts what a consumer received: corrupt items, missing and duplicated indices.
struct DeliveryCheck {
    private var seen: [Bool]
    private(set) var corrupt = 0
    private(set) var duplicated = 0
    private(set) var received = 0

    init(items: Int) {
        seen = Array(repeating: false, count: items)
    }

    mutating func record(index: Int, intact: Bool) {
        received += 1
        if !intact { corrupt += 1 }
        guard seen.indices.contains(index) else { corrupt += 1; return }
        if seen[index] { duplicated += 1 } else { seen[index] = true }
    }

    var missing: Int { seen.lazy.filter { !$0 }.count }
}

import Synchronization

/// An integer shared by threads: claims (`next`) and countdowns (`decrement`).
final class AtomicCounter: Sendable {
    private let value: Atomic<Int>

    /// A counter starting at `initial`.
    init(_ initial: Int = 0) {
        value = Atomic(initial)
    }

    /// Returns the current value and adds one.
    func next() -> Int {
        value.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Subtracts one and returns the new value.
    func decrement() -> Int {
        value.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue
    }

    /// The value now.
    var current: Int { value.load(ordering: .relaxed) }
}

/// A one-way flag that tells worker threads to stop.
final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    /// A signal not yet raised.
    init() {}

    /// Raises the signal.
    func raise() {
        flag.store(true, ordering: .releasing)
    }

    /// Whether the signal was raised.
    var isRaised: Bool { flag.load(ordering: .acquiring) }
}

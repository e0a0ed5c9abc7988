import Synchronization

/// An integer shared by threads: claims (`next`) and countdowns (`decrement`).
@usableFromInline
final class AtomicCounter: Sendable {
    private let value: Atomic<Int>

    /// A counter starting at `initial`.
    @usableFromInline
    init(_ initial: Int = 0) {
        value = Atomic(initial)
    }

    /// Returns the current value and adds one.
    @usableFromInline
    func next() -> Int {
        value.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Subtracts one and returns the new value.
    @usableFromInline
    func decrement() -> Int {
        value.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue
    }

    /// The value now.
    var current: Int { value.load(ordering: .relaxed) }
}

/// A one-way flag that tells worker threads to stop.
@usableFromInline
final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    /// A signal not yet raised.
    init() {}

    /// Raises the signal.
    @usableFromInline
    func raise() {
        flag.store(true, ordering: .releasing)
    }

    /// Whether the signal was raised.
    @usableFromInline
    var isRaised: Bool { flag.load(ordering: .acquiring) }
}

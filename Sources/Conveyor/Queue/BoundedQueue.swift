/// A bounded multi-producer, multi-consumer queue for any `Sendable` element:
/// the counterpart of Python's `queue.Queue(maxsize)`, without polling.
///
/// `put` waits while the queue is full and `get` while it is empty, each for
/// at most its timeout; a waiting thread spins briefly and then sleeps on a
/// futex, costing no CPU, and is woken only by a change. The `async`
/// variants suspend the task instead of blocking its thread. `close()` ends
/// the queue: getters drain what is left and then receive `nil`.
///
/// ```swift
/// let queue = try BoundedQueue<Int>(capacity: 10)
/// Thread { for k in 0..<100 { try! queue.put(k) }; queue.close() }.start()
/// while let k = try queue.get(timeout: .seconds(5)) { print(k) }
/// ```
public final class BoundedQueue<Element: Sendable>: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: `ring` and the event words are shared between threads by
    // design and touched only through atomics (SlotRing, FutexEvent); every
    // other stored property is immutable.
    @usableFromInline let ring: SlotRing<Element>
    @usableFromInline let eventWords: UnsafeMutableRawPointer
    @usableFromInline let notEmpty: FutexEvent
    @usableFromInline let notFull: FutexEvent
    @usableFromInline let getters = AsyncWaiters()
    @usableFromInline let putters = AsyncWaiters()

    /// The most items the queue holds.
    public let capacity: Int

    /// A queue holding at most `capacity` items; throws if `capacity` < 1.
    public init(capacity: Int) throws(ConveyorError) {
        guard capacity >= 1 else {
            throw .invalidArgument("a BoundedQueue needs a capacity of at least 1, not \(capacity)")
        }
        self.capacity = capacity
        ring = SlotRing(capacity: capacity)
        // Two events (sequence, sleepers) on separate cache lines.
        eventWords = .allocate(byteCount: 256, alignment: 128)
        eventWords.initializeMemory(as: UInt8.self, repeating: 0, count: 256)
        notEmpty = FutexEvent(sequence: eventWords, sleepers: eventWords + 4, shared: false)
        notFull = FutexEvent(sequence: eventWords + 128, sleepers: eventWords + 132, shared: false)
    }

    deinit {
        eventWords.deallocate()
    }

    // MARK: Putting

    /// Adds `element`, waiting while the queue is full for at most `timeout`
    /// (nil: as long as it takes). Throws `.timedOut` when the time passes
    /// and `.closed` if the queue is or gets closed.
    @inlinable
    public func put(_ element: Element, timeout: Duration? = nil) throws(ConveyorError) {
        let deadline = Deadline.after(timeout)
        let added = notFull.wait(deadline: deadline) { enqueue(element) }
        try finishPut(added, timeout: timeout)
    }

    /// Adds `element` if there is room now; returns false when full. Throws
    /// `.closed` if the queue is closed.
    @inlinable
    public func tryPut(_ element: Element) throws(ConveyorError) -> Bool {
        guard let added = enqueue(element) else { return false }
        try finishPut(added, timeout: nil)
        return true
    }

    /// Adds `element`, suspending the task while the queue is full, for at
    /// most `timeout`. Throws `.timedOut` when the time passes, `.closed` if
    /// the queue is or gets closed, and `CancellationError` if the task is
    /// cancelled while it waits (the element is then not added).
    public func put(_ element: Element, timeout: Duration? = nil) async throws {
        let deadline = Deadline.after(timeout)
        while true {
            if let added = enqueue(element) { return try finishPut(added, timeout: timeout) }
            try Task.checkCancellation()
            if let deadline, deadline.hasPassed { try finishPut(nil, timeout: timeout) }
            await putters.wait(until: deadline) { ring.count < capacity || ring.isClosed }
        }
    }

    // MARK: Getting

    /// Removes the oldest item, waiting while the queue is empty for at most
    /// `timeout` (nil: as long as it takes). Returns nil once the queue is
    /// closed and empty; throws `.timedOut` when the time passes.
    @inlinable
    public func get(timeout: Duration? = nil) throws(ConveyorError) -> Element? {
        let deadline = Deadline.after(timeout)
        let outcome = notEmpty.wait(deadline: deadline) { dequeue() }
        return try finishGet(outcome, timeout: timeout)
    }

    /// Removes the oldest item if there is one now; nil when the queue is
    /// empty (check `isClosed` to tell whether more can come).
    @inlinable
    public func tryGet() -> Element? {
        if case let .item(element)? = dequeue() {
            return element
        }
        return nil
    }

    /// Removes the oldest item, suspending the task while the queue is empty,
    /// for at most `timeout`. Returns nil once the queue is closed and empty.
    /// A cancelled task's wait ends with `CancellationError`.
    public func get(timeout: Duration? = nil) async throws -> Element? {
        let deadline = Deadline.after(timeout)
        while true {
            if let outcome = dequeue() { return try finishGet(outcome, timeout: timeout) }
            try Task.checkCancellation()
            if let deadline, deadline.hasPassed { return try finishGet(nil, timeout: timeout) }
            await getters.wait(until: deadline) { ring.count > 0 || ring.isClosed }
        }
    }

    // MARK: Closing and state

    /// Closes the queue: every waiter wakes, later puts throw `.closed`,
    /// getters receive what is left and then nil. Closing twice does nothing.
    public func close() {
        guard ring.close() else { return }
        notEmpty.wakeAll()
        notFull.wakeAll()
        getters.resumeAll()
        putters.resumeAll()
    }

    /// Whether `close()` has been called.
    @inlinable
    public var isClosed: Bool { ring.isClosed }

    /// Items in the queue now (a snapshot: other threads may change it at once).
    @inlinable
    public var count: Int { ring.count }

    /// Whether the queue holds no item now.
    public var isEmpty: Bool { count == 0 }

    /// Whether the queue holds `capacity` items now.
    public var isFull: Bool { count >= capacity }

    /// Depth over capacity: "3/10", plus
    /// " closed" once closed.
    public var description: String {
        "\(count)/\(capacity)" + (isClosed ? " closed" : "")
    }

    // MARK: Transitions

    /// One enqueue attempt: true added, false closed, nil full.
    @inlinable
    func enqueue(_ element: Element) -> Bool? {
        switch ring.tryEnqueue(element) {
        case .enqueued: true
        case .closed: false
        case .full: nil
        }
    }

    /// One dequeue attempt: nil while empty and open.
    @inlinable
    func dequeue() -> SlotRing<Element>.DequeueResult? {
        let outcome = ring.tryDequeue()
        if case .empty = outcome { return nil }
        return outcome
    }

    @inlinable
    func finishPut(_ added: Bool?, timeout: Duration?) throws(ConveyorError) {
        switch added {
        case true?:
            notEmpty.notifyAllAfterBarrier()  // the enqueue published by an exchange
            getters.resumeAll()
        case false?:
            throw .closed("the BoundedQueue")
        case nil:
            throw .timedOut(operation: "BoundedQueue.put (queue full at \(capacity))", after: timeout ?? .zero)
        }
    }

    @inlinable
    func finishGet(
        _ outcome: SlotRing<Element>.DequeueResult?, timeout: Duration?
    ) throws(ConveyorError) -> Element? {
        switch outcome {
        case let .item(element)?:
            notFull.notifyAllAfterBarrier()  // the dequeue freed the slot by an exchange
            putters.resumeAll()
            return element
        case .closedAndDrained?, .empty?:
            return nil
        case nil:
            throw .timedOut(operation: "BoundedQueue.get (queue empty)", after: timeout ?? .zero)
        }
    }
}

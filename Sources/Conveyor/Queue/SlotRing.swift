import Synchronization

/// The storage of a `BoundedQueue`: Dmitry Vyukov's bounded multi-producer
/// multi-consumer ring, with a "closed" bit in the tail. All of the queue's
/// pointer code lives here.
///
/// Each slot carries a sequence number. A slot at position `p` is free for a
/// producer when its sequence is `2p`, and holds an item for a consumer when
/// it is `2p + 1`; the consumer frees it for the next lap by storing
/// `2(p + capacity)`. (Vyukov's original uses `p`, `p + 1` and
/// `p + capacity`, which cannot tell full from free when the capacity is 1.)
/// Producers claim positions by CAS on the tail, consumers on the head; the
/// item is published, and the slot freed, by a sequentially consistent
/// exchange of the sequence, so that the caller's following check for
/// sleepers cannot move before it (see `FutexEvent.notifyAllAfterBarrier`).
/// Once the closed bit is set in the tail no CAS on the tail can succeed, so
/// no item is added after `close()` returns.
@usableFromInline
struct SlotRing<Element>: ~Copyable {
    /// The outcome of `tryEnqueue`.
    @usableFromInline
    enum EnqueueResult { case enqueued, full, closed }

    /// The outcome of `tryDequeue`.
    @usableFromInline
    enum DequeueResult { case item(Element), empty, closedAndDrained }

    @usableFromInline let capacity: Int
    /// Slot i at `slots + i * slotStride`: its sequence, then its element,
    /// padded to whole cache lines so neighbouring slots never share one.
    @usableFromInline let slots: UnsafeMutableRawPointer
    @usableFromInline let slotStride: Int
    @usableFromInline let elementOffset: Int
    /// The head and the tail, a cache line pair apart so producers and
    /// consumers do not share a line.
    @usableFromInline let positions: UnsafeMutableRawPointer

    @inlinable static var closedBit: Int { 1 << 62 }
    @inlinable static var lineStride: Int { 128 }

    init(capacity: Int) {
        precondition(capacity >= 1)
        self.capacity = capacity
        let sequenceSize = MemoryLayout<Atomic<Int>>.stride
        let alignment = Swift.max(MemoryLayout<Element>.alignment, MemoryLayout<Atomic<Int>>.alignment)
        elementOffset = (sequenceSize + alignment - 1) / alignment * alignment
        slotStride = (elementOffset + MemoryLayout<Element>.size + 63) / 64 * 64
        slots = .allocate(byteCount: capacity * slotStride, alignment: Swift.max(64, alignment))
        for index in 0..<capacity {
            (slots + index * slotStride).initializeMemory(as: Atomic<Int>.self, to: Atomic(2 * index))
        }
        positions = .allocate(byteCount: 2 * Self.lineStride, alignment: Self.lineStride)
        positions.initializeMemory(as: Atomic<Int>.self, to: Atomic(0))
        (positions + Self.lineStride).initializeMemory(as: Atomic<Int>.self, to: Atomic(0))
    }

    deinit {
        let head = self.head.pointee.load(ordering: .acquiring)
        let tail = self.tail.pointee.load(ordering: .acquiring) & ~Self.closedBit
        for position in head..<tail {
            element(position % capacity).deinitialize(count: 1)
        }
        for index in 0..<capacity {
            _ = sequenceWord(index).deinitialize(count: 1)
        }
        slots.deallocate()
        positions.deallocate()
    }

    @inlinable var head: UnsafeMutablePointer<Atomic<Int>> {
        positions.assumingMemoryBound(to: Atomic<Int>.self)
    }

    @inlinable var tail: UnsafeMutablePointer<Atomic<Int>> {
        (positions + Self.lineStride).assumingMemoryBound(to: Atomic<Int>.self)
    }

    @inlinable
    func sequenceWord(_ slot: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        (slots + slot * slotStride).assumingMemoryBound(to: Atomic<Int>.self)
    }

    @inlinable
    func element(_ slot: Int) -> UnsafeMutablePointer<Element> {
        (slots + slot * slotStride + elementOffset).assumingMemoryBound(to: Element.self)
    }

    /// Adds `element` unless the ring is full or closed.
    @inlinable
    func tryEnqueue(_ element: Element) -> EnqueueResult {
        var position = tail.pointee.load(ordering: .relaxed)
        while true {
            if position & Self.closedBit != 0 { return .closed }
            let slot = position % capacity
            let sequence = sequenceWord(slot).pointee.load(ordering: .acquiring)
            if sequence == 2 * position {
                let (exchanged, current) = tail.pointee.compareExchange(
                    expected: position, desired: position + 1, ordering: .relaxed)
                if exchanged {
                    self.element(slot).initialize(to: element)
                    _ = sequenceWord(slot).pointee.exchange(2 * position + 1, ordering: .sequentiallyConsistent)
                    return .enqueued
                }
                position = current
            } else if sequence < 2 * position {
                // The slot still holds last lap's item (or its consumer is
                // moving it out): full, unless closed meanwhile.
                let now = tail.pointee.load(ordering: .relaxed)
                return now & Self.closedBit != 0 ? .closed : .full
            } else {
                position = tail.pointee.load(ordering: .relaxed)
            }
        }
    }

    /// Removes the oldest item, or says that there is none (yet, or ever).
    @inlinable
    func tryDequeue() -> DequeueResult {
        var position = head.pointee.load(ordering: .relaxed)
        while true {
            let slot = position % capacity
            let sequence = sequenceWord(slot).pointee.load(ordering: .acquiring)
            if sequence == 2 * position + 1 {
                let (exchanged, current) = head.pointee.compareExchange(
                    expected: position, desired: position + 1, ordering: .relaxed)
                if exchanged {
                    let element = self.element(slot).move()
                    _ = sequenceWord(slot).pointee.exchange(2 * (position + capacity), ordering: .sequentiallyConsistent)
                    return .item(element)
                }
                position = current
            } else if sequence < 2 * position + 1 {
                // Empty, or a producer claimed the slot and is still writing.
                let tail = self.tail.pointee.load(ordering: .acquiring)
                if tail & Self.closedBit != 0, tail & ~Self.closedBit == position {
                    return .closedAndDrained
                }
                return .empty
            } else {
                position = head.pointee.load(ordering: .relaxed)
            }
        }
    }

    /// Sets the closed bit; returns false if it was already set.
    @usableFromInline
    func close() -> Bool {
        tail.pointee.bitwiseOr(Self.closedBit, ordering: .sequentiallyConsistent).oldValue & Self.closedBit == 0
    }

    /// Whether `close()` has been called.
    @inlinable
    var isClosed: Bool {
        tail.pointee.load(ordering: .acquiring) & Self.closedBit != 0
    }

    /// Items claimed by producers and not yet claimed by consumers, within 0...capacity.
    @inlinable
    var count: Int {
        let head = self.head.pointee.load(ordering: .acquiring)
        let tail = self.tail.pointee.load(ordering: .acquiring) & ~Self.closedBit
        return min(capacity, max(0, tail - head))
    }
}

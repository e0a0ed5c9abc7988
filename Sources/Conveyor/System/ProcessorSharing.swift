import Synchronization

/// Notices when the two sides of a hand-over (a producer waiting for room, a
/// consumer waiting for an item) wait for each other on one processor, and
/// then moves the waiter to another processor.
///
/// Two such threads can end up on the same processor while another idles:
/// both are runnable and cache-hot, so the scheduler leaves them together,
/// and each wait yields the processor to the other side for as long as they
/// run, a yield per few items. Nothing here is on the hand-over's fast
/// path: a waiter calls `yieldProcessor()` only where its backoff yields.
///
/// Each side has a record on cache lines of its own, written only by its
/// waiters and only after a yield: the processor it ran on and when, and its
/// streak of yields after which the other side's record named the same
/// processor and was recent. At `streakToMove` in a row the waiter moves
/// itself off its processor (`SystemCalls.moveToAnotherProcessor`, which
/// keeps its allowed set), unseen while it moves and then where it went, so
/// that the other side, whose streak grew in step, does not follow.
@usableFromInline
struct ProcessorSharing: @unchecked Sendable {
    // @unchecked: the records are only ever accessed atomically.
    @usableFromInline let own: UnsafeMutableRawPointer
    @usableFromInline let peer: UnsafeMutableRawPointer

    /// The bytes of one side's record, zeroed by its owner before first use:
    /// two cache lines, so that the adjacent-line prefetcher does not tie it
    /// to its neighbours.
    @inlinable static var recordBytes: Int { 128 }
    /// Co-located yields in a row after which the waiter moves.
    static let streakToMove: UInt32 = 32
    /// How old the other side's record may be and still count (it yields
    /// every few microseconds while the two share a processor).
    static let recentNanoseconds: Int64 = 1_000_000

    /// A side whose record is at `own` and whose other side's is at `peer`.
    @inlinable
    init(own: UnsafeMutableRawPointer, peer: UnsafeMutableRawPointer) {
        self.own = own
        self.peer = peer
    }

    /// Where a side last yielded: a processor and a time.
    struct Sighting: Equatable, Sendable {
        /// The processor (-1: never seen).
        let processor: Int
        /// CLOCK_MONOTONIC in microseconds.
        let microseconds: Int64

        init(processor: Int, microseconds: Int64) {
            self.processor = processor
            self.microseconds = microseconds
        }

        /// A sighting from its packed word (0: never seen).
        init(word: UInt64) {
            processor = Int(word & 0xFFFF) - 1
            microseconds = Int64(word >> 16)
        }

        /// The time above the low 16 bits, the processor + 1 in them.
        var word: UInt64 {
            UInt64(microseconds) << 16 | UInt64((processor + 1) & 0xFFFF)
        }
    }

    /// What a waiter does after a yield.
    struct Decision: Equatable, Sendable {
        /// Its streak from now on.
        let streak: UInt32
        /// Whether it moves to another processor now.
        let move: Bool
    }

    /// The state machine: after a yield on `processor` at `now` (ns), with
    /// the other side last seen at `peer` and a streak of `streak`.
    static func decide(processor: Int, now: Int64, peer: Sighting, streak: UInt32) -> Decision {
        let together = processor >= 0 && peer.processor == processor
            && now / 1_000 - peer.microseconds < recentNanoseconds / 1_000
        guard together else { return Decision(streak: 0, move: false) }
        let next = streak + 1
        return next >= streakToMove ? Decision(streak: 0, move: true) : Decision(streak: next, move: false)
    }

    /// How much newer a sighting on the same processor must be than the
    /// recorded one to be stored: a side that yields every few microseconds
    /// rewrites its record (a line the other side reads) only this often.
    static let refreshMicroseconds: Int64 = 100

    /// Yields the processor, records where this side runs and moves it when
    /// it has shared its processor with the other side for `streakToMove`
    /// yields in a row; returns the move it made. `clock` is a reading of
    /// the monotonic clock taken just before (nil: read it here).
    @inline(never) @usableFromInline @discardableResult
    func yieldProcessor(clock: Int64? = nil) -> SystemCalls.ProcessorMove? {
        SystemCalls.yieldProcessor()
        let processor = SystemCalls.currentProcessor()
        let now = clock ?? SystemCalls.monotonicNanoseconds()
        let peerWord = peer.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.load(ordering: .relaxed)
        let streakWord = (own + 8).assumingMemoryBound(to: Atomic<UInt32>.self)
        let streak = streakWord.pointee.load(ordering: .relaxed)
        let decision = Self.decide(processor: processor, now: now, peer: Sighting(word: peerWord), streak: streak)
        let ownWord = own.assumingMemoryBound(to: Atomic<UInt64>.self)
        var sighting = Sighting(processor: processor, microseconds: now / 1_000)
        var moved: SystemCalls.ProcessorMove?
        if decision.move {
            // Unseen while it moves: the other side, which runs on this
            // processor while the move is under way and whose streak has
            // grown in step, must not move as well (they would swap places).
            ownWord.pointee.store(0, ordering: .relaxed)
            moved = SystemCalls.moveToAnotherProcessor()
            if let moved { sighting = Sighting(processor: moved.to, microseconds: now / 1_000) }
        }
        let recorded = Sighting(word: ownWord.pointee.load(ordering: .relaxed))
        if moved != nil || recorded.processor != sighting.processor
            || sighting.microseconds - recorded.microseconds >= Self.refreshMicroseconds {
            ownWord.pointee.store(sighting.word, ordering: .relaxed)
        }
        if decision.streak != streak { streakWord.pointee.store(decision.streak, ordering: .relaxed) }
        return moved
    }
}

/// The ring's state machine as pure values: what a lane's `owner` word and a
/// slot's `sequence` word mean, and every transition the protocol allows on
/// them (docs/FORMAT.md, *Slot states* and *Protocols*). Each transition
/// returns the new state, or nil when FORMAT.md does not allow it from the
/// current one. No memory, processes or threads here: `RingProtocol` reads the
/// shared words, asks these for the next value and writes it atomically.

/// A lane's `owner` word: free, owned by a producer, or finished by it.
enum LaneOwnerState: Equatable, Sendable {
    /// No producer (word 0): the lane may be claimed.
    case free
    /// Owned by this producer, which may commit.
    case owned(PeerIdentity)
    /// Its producer called `finish()` (bit 63): closed until a reset.
    case finished(PeerIdentity)

    /// The state an owner word encodes.
    @inline(__always)
    init(word: UInt64) {
        guard let identity = PeerIdentity(word: word) else { self = .free; return }
        self = word & PeerIdentity.finishedBit != 0 ? .finished(identity) : .owned(identity)
    }

    /// The owner word encoding this state.
    var word: UInt64 {
        switch self {
        case .free: 0
        case let .owned(identity): identity.word
        case let .finished(identity): identity.word | PeerIdentity.finishedBit
        }
    }

    /// *Claiming a lane*, step 1: a free lane, or one whose owner is dead
    /// (`ownerIsDead`; the takeover of a dead owner), becomes `claimant`'s.
    /// A live owner's lane and a finished lane are refused.
    func claimed(by claimant: PeerIdentity, ownerIsDead: (PeerIdentity) -> Bool) -> LaneOwnerState? {
        switch self {
        case .free: .owned(claimant)
        case let .owned(owner): ownerIsDead(owner) ? .owned(claimant) : nil
        case .finished: nil
        }
    }

    /// *Finishing a lane*: only the owner finishes its own lane.
    func finished(by producer: PeerIdentity) -> LaneOwnerState? {
        self == .owned(producer) ? .finished(producer) : nil
    }

    /// *Claiming a lane*, releasing: only the owner releases its own lane.
    func released(by producer: PeerIdentity) -> LaneOwnerState? {
        self == .owned(producer) ? .free : nil
    }

    /// *Liveness*, dead producer: a consumer frees a dead owner's drained
    /// lane. Free and finished lanes have no death to report.
    func freedAfterDeath() -> LaneOwnerState? {
        if case .owned = self { return .free }
        return nil
    }

    /// *Reset*, step 2: a finished lane is reopened; others are left alone.
    func reopened() -> LaneOwnerState? {
        if case .finished = self { return .free }
        return nil
    }
}

/// A slot's `sequence` word, seen from position `p` of its lane (S slots per
/// lane): free for p, published (item p ready), released (free for p + S),
/// or a value another lap of the lane owns.
enum SlotState: Equatable, Sendable {
    /// `sequence == p`: the producer may write position p.
    case free
    /// `sequence == p + 1`: item p is ready (or taken, if `tail > p`).
    case published
    /// `sequence == p + S`: released; free for position p + S.
    case released
    /// Anything else: the slot belongs to another lap than p's.
    case other

    /// The state `sequence` means for position `position` of a lane of `slots` slots.
    @inline(__always)
    init(sequence: UInt64, position: UInt64, slots: UInt64) {
        switch sequence {
        case position: self = .free
        case position &+ 1: self = .published
        case position &+ slots: self = .released
        default: self = .other
        }
    }

    /// The sequence value a freshly created lane holds in slot `index`
    /// (*Slot states*: initially free for position `index`).
    static func initialSequence(index: Int) -> UInt64 { UInt64(index) }

    /// *Producing position p*, step 4 (the commit point): free → published.
    @inline(__always)
    static func committed(sequence: UInt64, position: UInt64) -> UInt64? {
        sequence == position ? position &+ 1 : nil
    }

    /// *Reading and releasing* (and *Reset*'s drain): published → released.
    @inline(__always)
    static func released(sequence: UInt64, position: UInt64, slots: UInt64) -> UInt64? {
        sequence == position &+ 1 ? position &+ slots : nil
    }
}

/// A lane's cursors: `head` (the producer's next position) and `tail` (the
/// consumers' next position), with the rules that move them.
enum LaneCursor {
    /// *Producing position p*, step 1: whether position `head` may be
    /// written, given its slot's sequence.
    @inline(__always)
    static func canReserve(head: UInt64, sequence: UInt64) -> Bool {
        SlotState.committed(sequence: sequence, position: head) != nil
    }

    /// *Taking an item*: the new tail once item `tail` is taken, or nil when
    /// its slot is not published (the lane is empty there).
    @inline(__always)
    static func taken(tail: UInt64, sequence: UInt64) -> UInt64? {
        sequence == tail &+ 1 ? tail &+ 1 : nil
    }

    /// *Claiming a lane*, step 3: a predecessor may have published `head`
    /// and died before storing head; then the head moves one on.
    static func recovered(head: UInt64, sequence: UInt64, slots: UInt64) -> UInt64 {
        switch SlotState(sequence: sequence, position: head, slots: slots) {
        case .published, .released: head &+ 1
        case .free, .other: head
        }
    }

    /// *The end of the stream*: a lane is done once its owner finished and
    /// the slot at `tail` is not published (every committed item was taken).
    static func isDone(owner: LaneOwnerState, tail: UInt64, sequenceAtTail: UInt64) -> Bool {
        guard case .finished = owner else { return false }
        return taken(tail: tail, sequence: sequenceAtTail) == nil
    }

    /// Items committed and not yet taken, as a snapshot of the two cursors
    /// read a moment apart may show them (clamped to the lane's slots).
    static func depth(head: UInt64, tail: UInt64, slots: Int) -> Int {
        Int(clamping: head >= tail ? min(head - tail, UInt64(slots)) : 0)
    }
}

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

/// A slot's `holder` word: nobody (0), or the process word of whoever claimed
/// the item there: a consumer taking it (*Taking an item*: claim, then
/// advance), the consumer reading it, or a reset draining it.
enum SlotHolder {
    /// *Taking an item*, the claim: an unheld slot becomes `claimant`'s;
    /// a held one is being taken (or read) by someone else right now.
    @inline(__always)
    static func claimed(holder: UInt64, by claimant: PeerIdentity) -> UInt64? {
        holder == 0 ? claimant.word : nil
    }

    /// *A consumer that dies holding an item*, adopting: the item of a
    /// holder that has ended (`hasEnded`) becomes `adopter`'s. Nobody's slot,
    /// the adopter's own and a live holder's are left alone.
    static func adopted(holder: UInt64, by adopter: PeerIdentity, hasEnded: (UInt64) -> Bool) -> UInt64? {
        holder != 0 && holder != adopter.word && hasEnded(holder) ? adopter.word : nil
    }
}

extension LaneCursor {
    /// *A consumer that dies holding an item*, adopting: the positions an
    /// adoption scan covers, `max(0, tail − S) ... tail`. The S before
    /// `tail` may be taken and not released; the one at `tail` may be
    /// claimed by a consumer that died before advancing `tail`.
    static func adoptionScan(tail: UInt64, slots: UInt64) -> ClosedRange<UInt64> {
        (tail > slots ? tail - slots : 0)...tail
    }

    /// What an adopter that won the item at `position` (its slot's holder)
    /// does with `tail`, read after the win.
    enum AdoptedItem: Equatable {
        /// `tail == position`: its claimant died before advancing; the
        /// adopter CASes `tail` position → position + 1 itself.
        case advanceTail
        /// `tail > position`: it was taken; the adopter reads and releases it.
        case taken
        /// `tail < position`: a claim on a later lap of the slot, not yet at
        /// the tail; the adopter puts the dead holder's word back and leaves
        /// it for a later scan.
        case notYetAtTail
    }

    /// Which `AdoptedItem` case holds for `position` given `tail`.
    static func adopted(position: UInt64, tail: UInt64) -> AdoptedItem {
        tail == position ? .advanceTail : tail > position ? .taken : .notYetAtTail
    }

    /// *A consumer that dies holding an item*, signalling: the item at
    /// `position` is claimed or taken and not released (its slot is
    /// published for it and `tail` reached it), so its holder (if any)
    /// holds it back.
    static func isUnreleased(position: UInt64, sequence: UInt64, tail: UInt64) -> Bool {
        sequence == position &+ 1 && tail >= position
    }
}

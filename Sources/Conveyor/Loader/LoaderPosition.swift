/// The loader's position as a pure state machine: which epoch and batch an
/// iteration starts at, and how deliveries move it. No I/O, no threads.
///
/// Rules: a new iteration continues the current epoch if no iteration has
/// touched it yet (a fresh loader, a resumed one, or one whose last epoch
/// ended); otherwise it starts the next epoch. A delivered batch advances
/// `nextBatch` past every batch delivered so far without a gap (unordered
/// delivery may leave gaps); delivering the last batch moves to the next epoch.
struct LoaderPosition: Hashable {
    private(set) var epoch: Int
    private(set) var nextBatch: Int
    /// No iteration has started in `epoch` since it was reached.
    private(set) var fresh = true
    /// Batches delivered beyond `nextBatch` (unordered delivery only).
    private var deliveredAhead: Set<Int> = []

    init(epoch: Int, nextBatch: Int) {
        self.epoch = epoch
        self.nextBatch = nextBatch
    }

    /// Starts an iteration; returns where it begins.
    mutating func beginIteration() -> (epoch: Int, firstBatch: Int) {
        if !fresh {
            epoch += 1
            nextBatch = 0
        }
        fresh = false
        deliveredAhead = []
        return (epoch, nextBatch)
    }

    /// Records batch `batch` of `epoch` as delivered, of `batchCount`. Returns
    /// true when that completes the epoch.
    @discardableResult
    mutating func delivered(_ batch: Int, ofEpoch epoch: Int, batchCount: Int) -> Bool {
        guard epoch == self.epoch, batch >= nextBatch else { return false }
        deliveredAhead.insert(batch)
        while deliveredAhead.remove(nextBatch) != nil { nextBatch += 1 }
        if nextBatch >= batchCount {
            completeEpoch()
            return true
        }
        return false
    }

    /// Records that `epoch` has nothing left (it was empty, or resumed at its end).
    mutating func exhausted(epoch: Int) {
        if epoch == self.epoch { completeEpoch() }
    }

    private mutating func completeEpoch() {
        epoch += 1
        nextBatch = 0
        fresh = true
        deliveredAhead = []
    }
}

/// The consumer's side of one iteration as pure state, the same for threads
/// and processes: which item it takes next and from which worker's lane, and
/// how a delivery, a failure or a cancel moves it on. No threads, no I/O.
///
/// Ordered, the consumer waits for exactly item `k` from the lane of the
/// worker that makes it (`WorkerAssignment`); unordered, it takes whatever is
/// ready in any lane, and `upcoming` only counts how many remain. A failure
/// or a cancel ends the iteration: nothing more is taken, even if ready.
struct DeliveryCursor: Sendable, Hashable {
    /// Which worker makes which item.
    let assignment: WorkerAssignment
    /// Ordered or unordered.
    let delivery: Delivery
    /// Items delivered so far.
    private(set) var deliveredCount = 0
    /// Whether the iteration is over: every item delivered, or it failed or was cancelled.
    private(set) var isFinished: Bool

    /// The consumer's side of an iteration over `assignment`'s items.
    init(assignment: WorkerAssignment, delivery: Delivery) {
        self.assignment = assignment
        self.delivery = delivery
        isFinished = assignment.firstItem >= assignment.itemCount
    }

    /// The item expected next (ordered), or the position the next delivery
    /// fills (unordered); nil once the iteration is over.
    var upcoming: Int? { isFinished ? nil : assignment.firstItem + deliveredCount }

    /// The worker whose lane holds `item`: its maker's when ordered; nil
    /// (whichever lane is ready) when unordered.
    func lane(ofItem item: Int) -> Int? {
        delivery == .ordered ? assignment.worker(ofItem: item) : nil
    }

    /// One item was delivered; after the last the iteration is over.
    mutating func delivered() {
        precondition(!isFinished, "nothing is delivered after the iteration ended")
        deliveredCount += 1
        if assignment.firstItem + deliveredCount >= assignment.itemCount { isFinished = true }
    }

    /// A failure was delivered, the iteration was cancelled or its lanes
    /// were closed: nothing more is taken.
    mutating func end() {
        isFinished = true
    }
}

/// A collated batch lent where it lies, held until it is released rather
/// than for the length of a closure: with worker processes, the
/// shared-memory slot its worker wrote (nothing copied, no other thread
/// involved); with the other backends, the batch's own arrays.
///
/// ```swift
/// var batches = loader.makeBatchIterator()
/// while let lease = try batches.nextLease() {
///     try lease.view.withUnsafeBytes(of: "image") { step(model, $0) }
///     lease.release()  // or let it go: the slot goes back to its worker either way
/// }
/// ```
///
/// The lease cannot be copied, and its view's memory stays valid exactly as
/// long as the lease lives: releasing (or dropping) it gives the slot back
/// to its worker. A worker has `prefetch` slots, so a lease held long holds
/// that worker back. Pointers taken from the view must not outlive the lease.
public struct BatchLease: ~Copyable {
    /// The batch.
    public let view: BatchView
    /// The slot's ring lease, when the batch is in a worker's slot: the
    /// slot goes back to its worker when this lease ends.
    private let slotLease: RingLease?

    init(view: consuming BatchView, slotLease: consuming RingLease?) {
        self.view = view
        self.slotLease = slotLease
    }

    /// Gives the batch back now (its slot returns to its worker).
    public consuming func release() {}
}

/// Carries a ring lease out of the closure that read its slot (see
/// `BatchLease`): the process backend moves the lease in instead of
/// releasing it, and `nextLease` moves it on into the `BatchLease`. One per
/// iteration, used batch after batch.
final class RingLeaseKeeper {
    var lease: RingLease?
    /// The view, taken out of the closure that lent it.
    var view: BatchView?
}

extension DataLoader.BatchIterator where Output == TensorBatch {
    /// The next batch, lent where it lies until the lease is released (see
    /// `BatchLease`); nil at the epoch's end; throws what `next()` throws.
    /// The batch counts as delivered when it is returned.
    public mutating func nextLease() throws -> BatchLease? {
        let keeper = cursor.leaseKeeper
        guard try cursor.next(inPlace: { keeper.view = $0.duplicate() }, keeping: keeper) != nil,
              let view = keeper.view.take()
        else { return nil }
        return BatchLease(view: view, slotLease: keeper.lease.take())
    }
}

extension DataLoader.BatchIterator where Output == TensorBatch {
    /// The next batch as `nextLease()` lends it, if it is there now: nil,
    /// without waiting, when it is not yet (or the epoch is over:
    /// `isFinished` tells the two apart). Only worker processes' batches
    /// can be there ahead: with the other backends this is always nil, and
    /// `nextLease()` makes or waits for the batch. For a caller that must
    /// prepare before it waits, such as one that lets go of a lock others
    /// need meanwhile (the C interface, for Python's).
    ///
    /// ```swift
    /// var batches = loader.makeBatchIterator()
    /// while !batches.isFinished {
    ///     guard let lease = try batches.nextLeaseIfReady() ?? batches.nextLease() else { break }
    ///     try lease.view.withUnsafeBytes(of: "image") { step(model, $0) }
    /// }
    /// ```
    public mutating func nextLeaseIfReady() throws(ConveyorError) -> BatchLease? {
        let keeper = cursor.leaseKeeper
        guard case .lent = try cursor.lendNextIfReady(keeping: keeper, { keeper.view = $0.duplicate() }),
              let view = keeper.view.take()
        else { return nil }
        return BatchLease(view: view, slotLease: keeper.lease.take())
    }
}

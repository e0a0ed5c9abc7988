import Conveyor

/// The batch a C caller holds: its place and where its fields' bytes are
/// (in the worker's slot, while the loader handle keeps its `BatchLease`,
/// or in the handle's copy buffers).
struct LentBatch {
    var epoch: Int
    var index: Int
    var count: Int
    /// The samples' dataset indices (empty when lent in place: the lease's view has them).
    var indices: [Int]
    /// Each field's bytes in the copy (empty when lent in place: the lease's view has them).
    var fields: [UnsafeRawBufferPointer]
    /// Each field's rows per sample (empty when lent in place: the lease's view has them).
    var rows: [[Int]]
}

extension LentBatch {
    /// `view`'s place and rows, its fields' bytes at `fields`.
    init(_ view: borrowing BatchView, fields: [UnsafeRawBufferPointer]) {
        self.init(
            epoch: view.epoch, index: view.index, count: view.count, indices: Array(view.indices), fields: fields,
            rows: view.schema.fields.map { (try? view.rows(of: $0.name)) ?? [] })
    }

    /// `view` where it lies, valid while the view's lease is held: its
    /// place only. Its fields, indices and rows are read from the view when
    /// asked for, not copied per batch.
    init(lending view: borrowing BatchView) {
        self.init(epoch: view.epoch, index: view.index, count: view.count, indices: [], fields: [], rows: [])
    }
}

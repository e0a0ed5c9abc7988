/// The arrays a `BatchView` of a slot is made of, kept by the consumer from
/// batch to batch so that lending a slot allocates nothing: they are
/// refilled in place while no view holds them. A view still held (a
/// `BatchLease`) keeps its own copy: refilling then makes new arrays
/// (copy on write), so a held view never changes.
struct BatchViewScratch {
    /// Each field's bytes in the slot.
    var fields: [UnsafeRawBufferPointer] = []
    /// Each field's rows per sample, in the slot.
    var rows: [UnsafeBufferPointer<Int32>] = []
}

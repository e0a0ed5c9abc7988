/// A ring slot of the process backend: one collated batch (the fields of
/// `BatchLayout.batchSchema`) followed by two fields of its own:
///
/// - "conveyor.item", i64[6]: the iteration's generation, the batch index,
///   the status (0 made, 1 failed), the dataset index that failed (-1 none),
///   the nanoseconds the worker spent making it, and 0 (reserved);
/// - "conveyor.message", u8[1024]: a failure's message, UTF-8, cut at 1024 bytes.
///
/// A failure travels in-band, in the batch's own place, so the consumer
/// meets it exactly where the batch would have been.
struct BatchSlot: Sendable {
    /// The collation layout.
    let layout: BatchLayout
    /// The ring's item schema.
    let schema: Schema
    /// The fields of one sample (the batch's data fields; their
    /// "<name>.rows" fields follow them).
    let sampleFieldCount: Int
    /// The index of "conveyor.item".
    let tagField: Int
    /// The index of "conveyor.message".
    let messageField: Int

    /// The name of the tag field.
    static let tagName = "conveyor.item"
    /// The name of the message field.
    static let messageName = "conveyor.message"
    /// Words in the tag.
    static let tagWords = 6
    /// Room for a failure's message.
    static let messageBytes = 1024

    /// The slot for batches of `layout`.
    init(layout: BatchLayout) throws(ConveyorError) {
        let batch = try layout.batchSchema
        let own = [Field(BatchSlot.tagName, .int64, shape: [BatchSlot.tagWords]),
                   Field(BatchSlot.messageName, .uint8, shape: [BatchSlot.messageBytes])]
        for field in own where batch.index(of: field.name) != nil {
            throw .invalidArgument("the field name '\(field.name)' is reserved by the process backend; rename that field")
        }
        self.layout = layout
        self.schema = try Schema(batch.fields + own)
        self.sampleFieldCount = layout.sampleSchema.fields.count
        self.tagField = batch.fields.count
        self.messageField = batch.fields.count + 1
    }

    /// What the tag says.
    struct Tag: Sendable, Hashable {
        /// The iteration it was made for.
        var generation: Int64
        /// The batch index in its epoch.
        var batch: Int
        /// Nil when made; the failure's dataset index (-1: unknown) and message otherwise.
        var failedIndex: Int?
        /// The worker's time making it.
        var busyNanoseconds: Int64
    }

    /// Writes the tag of a batch made, into a slot the batch was collated into.
    func markMade(_ writer: inout RingWriter, generation: Int64, batch: Int, busyNanoseconds: Int64) throws {
        try writeTag(&writer, [generation, Int64(batch), 0, -1, busyNanoseconds, 0])
        try writer.setRows(0, of: messageField)
    }

    /// Writes a failure of batch `batch` (at dataset index `index`, if known) with `message`.
    func markFailed(
        _ writer: inout RingWriter, generation: Int64, batch: Int, index: Int?, message: String, busyNanoseconds: Int64
    ) throws {
        try writeTag(&writer, [generation, Int64(batch), 1, Int64(index ?? -1), busyNanoseconds, 0])
        let bytes = Array(message.utf8.prefix(BatchSlot.messageBytes))
        try writer.withUnsafeMutableBufferPointer(of: messageField, as: UInt8.self) { buffer in
            _ = buffer.initialize(from: bytes)
        }
        try writer.setRows(bytes.count, of: messageField)
    }

    private func writeTag(_ writer: inout RingWriter, _ words: [Int64]) throws {
        try writer.withUnsafeMutableBufferPointer(of: tagField, as: Int64.self) { buffer in
            _ = buffer.initialize(from: words)
        }
    }

    /// The tag of a leased slot.
    func tag(of lease: borrowing RingLease) throws -> Tag {
        let tag = try lease.withUnsafeBufferPointer(of: tagField, as: Int64.self) { words -> Tag? in
            guard words.count == BatchSlot.tagWords, words[1] >= 0 else { return nil }
            return Tag(generation: words[0], batch: Int(words[1]), failedIndex: words[2] == 0 ? nil : Int(words[3]),
                       busyNanoseconds: words[4])
        }
        guard let tag else {
            let words = try lease.withUnsafeBufferPointer(of: tagField, as: Int64.self) { Array($0) }
            throw ConveyorError.corruptSegment("a batch slot's tag holds \(words) ")
        }
        return tag
    }

    /// The failure message of a leased slot.
    func message(of lease: borrowing RingLease) throws -> String {
        try lease.withUnsafeBytes(of: messageField) { String(decoding: $0, as: UTF8.self) }
    }

    /// Lends `read` a view of the batch in a leased slot, for `indices` of
    /// batch `batch` of `epoch`; the view lives only during the call (its
    /// memory is the slot's). Its `copy()` is the same `TensorBatch` the
    /// array collation makes. The view's arrays are `scratch`'s, refilled.
    func withView<Result>(
        of lease: borrowing RingLease, epoch: Int, batch: Int, indices: ArraySlice<Int>,
        reusing scratch: inout BatchViewScratch, _ read: (borrowing BatchView) -> Result
    ) throws -> Result {
        let fieldCount = sampleFieldCount
        scratch.fields.removeAll(keepingCapacity: true)
        scratch.rows.removeAll(keepingCapacity: true)
        for number in 0..<fieldCount {
            let rows = try lease.rows(of: number)
            guard rows == indices.count else {
                throw ConveyorError.corruptSegment(
                    "batch \(batch) holds \(rows) samples of '\(layout.sampleSchema.fields[number].name)', not \(indices.count)")
            }
            try lease.withUnsafeBytes(of: number) { scratch.fields.append($0) }
            try lease.withUnsafeBufferPointer(of: fieldCount + number, as: Int32.self) { scratch.rows.append($0) }
        }
        return read(BatchView(epoch: epoch, index: batch, indices: indices, schema: layout.sampleSchema,
                              fields: scratch.fields, rows: scratch.rows))
    }
}

import Conveyor

/// Copies each batch out of its slot into buffers of its own, allocated once
/// for a full batch: the C caller reads the copy until its next call, while
/// the slot has already gone back to its worker. The buffers stay at the same
/// addresses, so callers can keep views of them (the Python package does).
final class BatchCopier {
    private let buffers: [UnsafeMutableRawBufferPointer]

    /// Buffers for batches of `batchSize` samples of `schema`.
    init(schema: Schema, batchSize: Int) {
        buffers = schema.fields.map { field in
            .allocate(byteCount: max(1, field.maxBytes * batchSize), alignment: 16)
        }
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }

    /// Copies `view` into the buffers; the result points at them.
    func copy(_ view: borrowing BatchView) throws(ConveyorError) -> LentBatch {
        var fields: [UnsafeRawBufferPointer] = []
        for (field, buffer) in zip(view.schema.fields, buffers) {
            let count = try typed {
                try view.withUnsafeBytes(of: field.name) { bytes in
                    guard bytes.count <= buffer.count else {
                        throw ConveyorError.invalidArgument(
                            "field '\(field.name)' of batch \(view.index) has \(bytes.count) bytes, more than a full batch")
                    }
                    if let source = bytes.baseAddress, let target = buffer.baseAddress {
                        target.copyMemory(from: source, byteCount: bytes.count)
                    }
                    return bytes.count
                }
            }
            fields.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return LentBatch(view, fields: fields)
    }
}

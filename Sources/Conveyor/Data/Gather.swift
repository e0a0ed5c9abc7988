/// Copies rows picked by index from one contiguous array of rows into
/// another: the one loop every batch-level dataset path runs, and all its
/// pointer arithmetic.
enum Gather {
    /// Copies row `indices[p]` of `source` (rows of `rowBytes` bytes) to row
    /// `p` of `destination`, for every position `p`. Every index must be a
    /// row of `source` and `destination` must hold `indices.count` rows.
    static func rows(
        _ indices: ArraySlice<Int>, from source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
        rowBytes: Int
    ) {
        precondition(destination.count >= indices.count * rowBytes, "the destination holds fewer rows than the indices")
        guard rowBytes > 0, !indices.isEmpty, let from = source.baseAddress, let to = destination.baseAddress else { return }
        let rows = source.count / rowBytes
        for index in indices { precondition(index >= 0 && index < rows, "row \(index) is outside the source's 0..<\(rows)") }
        // Small rows (labels, scalars) are one load and store; a memcpy call would cost more than the copy.
        switch rowBytes {
        case 1: copy(UInt8.self, indices, from, to)
        case 2: copy(UInt16.self, indices, from, to)
        case 4: copy(UInt32.self, indices, from, to)
        case 8: copy(UInt64.self, indices, from, to)
        default:
            for (position, index) in indices.enumerated() {
                (to + position * rowBytes).copyMemory(from: from + index * rowBytes, byteCount: rowBytes)
            }
        }
    }

    private static func copy<Word: FixedWidthInteger>(
        _ type: Word.Type, _ indices: ArraySlice<Int>, _ from: UnsafeRawPointer, _ to: UnsafeMutableRawPointer
    ) {
        let size = MemoryLayout<Word>.size
        for (position, index) in indices.enumerated() {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: index * size, as: Word.self), toByteOffset: position * size,
                          as: Word.self)
        }
    }
}

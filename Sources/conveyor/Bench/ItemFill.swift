import CConveyor

/// Fills a scenario item's fields: every value set with the processor's
/// string store (`cconveyor_fill_32`), which writes whole cache lines without
/// reading them first; a compiled loop (16-byte stores at the x86-64
/// baseline) reads each line before writing it and fills at about half the
/// speed here (`conveyor bench machine` shows both).
enum ItemFill {
    /// Sets every float of `buffer` to `value`.
    static func fill(_ buffer: UnsafeMutableBufferPointer<Float>, with value: Float) {
        guard let start = buffer.baseAddress else { return }
        cconveyor_fill_32(start, buffer.count, value.bitPattern)
    }

    /// Sets every int of `buffer` to `value`.
    static func fill(_ buffer: UnsafeMutableBufferPointer<Int32>, with value: Int32) {
        guard let start = buffer.baseAddress else { return }
        cconveyor_fill_32(start, buffer.count, UInt32(bitPattern: value))
    }
}

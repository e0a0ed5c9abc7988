/// A whole file mapped read-only into memory; unmapped when the last
/// reference goes away.
///
/// `@unchecked Sendable`: the mapping is read-only (`PROT_READ`, private) and
/// never changes after `init`; it is unmapped only in `deinit`, when no
/// thread can hold a reference any more. Reading it from any thread is safe.
final class MappedFile: @unchecked Sendable {
    /// The path it was opened from, for messages.
    let path: String
    /// The file's size in bytes when it was mapped.
    let count: Int
    private let base: UnsafeRawPointer?

    /// Maps the file at `path`; an empty file maps to an empty buffer.
    init(path: String) throws(ConveyorError) {
        let descriptor = try SystemCalls.openReadOnly(path)
        defer { SystemCalls.close(descriptor) }
        let status = try SystemCalls.fileStatus(descriptor, path: path)
        guard status.kind == .regularFile else {
            throw .invalidFile(path: path, problem: "it is not a regular file; pass the path of a file")
        }
        self.path = path
        self.count = status.size
        self.base = status.size == 0 ? nil : try SystemCalls.mapReadOnly(descriptor, length: status.size, path: path)
    }

    deinit {
        if let base { SystemCalls.unmap(UnsafeMutableRawPointer(mutating: base), size: count) }
    }

    /// Calls `body` with the mapped bytes; they stay valid only during the call.
    func withBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }
}

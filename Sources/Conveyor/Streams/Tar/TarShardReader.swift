/// Reads one tar shard's samples in order from a read-only mapping of the
/// file: each file's bytes are copied once, from the mapping into the batch.
public struct TarShardReader: ShardReader {
    private let file: MappedFile
    private let index: TarShardIndex
    private let schema: Schema
    private let fieldOfExtension: [Substring: Int]
    /// The next sample.
    private var sample: Int

    init(index: TarShardIndex, schema: Schema, at sample: Int) throws(ConveyorError) {
        guard (0...index.sampleCount).contains(sample) else {
            throw .invalidArgument("sample \(sample) is outside the shard \(index.path)'s 0..<\(index.sampleCount)")
        }
        self.file = try MappedFile(path: index.path)
        guard file.count >= index.sampleOffsets.last ?? 0 else {
            throw .invalidFile(path: index.path, problem: "it is shorter than when it was scanned; did it change? Make the dataset again")
        }
        self.index = index
        self.schema = schema
        var fields: [Substring: Int] = [:]
        for (number, field) in schema.fields.enumerated() { fields[Substring(field.name)] = number }
        self.fieldOfExtension = fields
        self.sample = sample
    }

    /// Copies the next sample's files into their fields.
    public mutating func write(into writer: inout SampleWriter) throws {
        let fields = schema.fields
        for field in fields.indices { try writer.setRows(0, ofField: field) }
        try members { key, field, bytes throws in
            if let key {
                writer.withBytes(ofField: 0) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: key)) }
                try writer.setRows(key.count, ofField: 0)
            } else if let field {
                guard bytes.count <= fields[field].maxRows else {
                    throw ConveyorError.itemTooLarge(field: fields[field].name, length: bytes.count, maximum: fields[field].maxRows)
                }
                writer.withBytes(ofField: field) { $0.copyMemory(from: bytes) }
                try writer.setRows(bytes.count, ofField: field)
            }
        }
    }

    /// The next sample as tensors (every field, 0 rows where the sample has no such file).
    public mutating func read() throws -> Sample {
        let fields = schema.fields
        var tensors = fields.map { _ in [UInt8]() }
        try members { key, field, bytes in
            if let key { tensors[0] = Array(key) } else if let field { tensors[field] = Array(bytes) }
        }
        var sample = Sample([:])
        for (field, bytes) in zip(fields, tensors) {
            sample[field.name] = try Tensor(dtype: .uint8, shape: [bytes.count], bytes: bytes)
        }
        return sample
    }

    /// Moves past the next sample.
    public mutating func skip() throws {
        guard sample < index.sampleCount else { throw pastEnd }
        sample += 1
    }

    private var pastEnd: ConveyorError {
        .invalidArgument("the shard \(index.path) has \(index.sampleCount) samples; there is no next one")
    }

    /// Calls `body` with the key (once, with `field` nil), then with each
    /// file of the next sample whose extension is a field; moves past it.
    private mutating func members(
        _ body: (_ key: Slice<UnsafeRawBufferPointer>?, _ field: Int?, _ bytes: UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard sample < index.sampleCount else { throw pastEnd }
        let (start, end, path) = (index.sampleOffsets[sample], index.sampleOffsets[sample + 1], index.path)
        try file.withBytes { archive in
            var offset = start
            var keyDone = false
            while offset < end, let member = try TarFormat.member(at: offset, in: archive, path: path) {
                offset = member.nextOffset
                guard member.isFile, let (key, fileExtension) = TarFormat.keyAndExtension(of: member.name) else { continue }
                if !keyDone {
                    let keyBytes = Array(key.utf8)
                    try keyBytes.withUnsafeBytes { try body($0[...], nil, UnsafeRawBufferPointer(start: nil, count: 0)) }
                    keyDone = true
                }
                try body(nil, fieldOfExtension[fileExtension],
                         UnsafeRawBufferPointer(rebasing: archive[member.dataOffset..<(member.dataOffset + member.size)]))
            }
        }
        sample += 1
    }
}

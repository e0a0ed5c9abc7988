/// Reads one tar shard's samples in order from a read-only mapping of the
/// file: each file's bytes are copied once, from the mapping into the batch.
public struct TarShardReader: ShardReader {
    private let file: MappedFile
    private let index: TarShardIndex
    private let schema: Schema
    private let fieldOfExtension: [Substring: Int]
    /// The fields whose files are NumPy arrays (their data goes in, not the file).
    private let numpyFields: Set<Int>
    /// The next sample.
    private var sample: Int

    init(index: TarShardIndex, schema: Schema, numpyFields: Set<Int>, at sample: Int) throws(ConveyorError) {
        self.numpyFields = numpyFields
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
        let (fields, numpyFields, path) = (schema.fields, numpyFields, index.path)
        for field in fields.indices where !fields[field].shape.isEmpty { try writer.setRows(0, of: field) }
        try members { key, field, bytes throws in
            if let key {
                writer.withUnsafeMutableBytes(of: 0) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: key)) }
                try writer.setRows(key.count, of: 0)
            } else if let field {
                let (data, rows) = try TarShardReader.contents(bytes, of: fields[field], isNumpy: numpyFields.contains(field), path: path)
                writer.withUnsafeMutableBytes(of: field) { $0.copyMemory(from: data) }
                try writer.setRows(rows, of: field)
            }
        }
    }

    /// The next sample as tensors (every field, 0 rows where the sample has no such file).
    public mutating func read() throws -> Sample {
        let (fields, numpyFields, path) = (schema.fields, numpyFields, index.path)
        var tensors = try fields.map { try Tensor.zeros($0.dtype, shape: $0.shape.isEmpty ? [] : [0] + $0.shape.dropFirst()) }
        try members { key, field, bytes in
            if let key {
                tensors[0] = try Tensor(dtype: .uint8, shape: [key.count], bytes: Array(key))
            } else if let field {
                let (data, rows) = try TarShardReader.contents(bytes, of: fields[field], isNumpy: numpyFields.contains(field), path: path)
                let shape = fields[field].shape.isEmpty ? [] : [rows] + fields[field].shape.dropFirst()
                tensors[field] = try Tensor(dtype: fields[field].dtype, shape: shape, bytes: Array(data))
            }
        }
        var sample = Sample([:])
        for (field, tensor) in zip(fields, tensors) { sample[field.name] = tensor }
        return sample
    }

    /// Moves past the next sample.
    public mutating func skip() throws {
        guard sample < index.sampleCount else { throw pastEnd }
        sample += 1
    }

    /// A file's bytes as field `field` holds them, and its rows: the file
    /// itself (a row per byte), or a NumPy array's data.
    private static func contents(
        _ bytes: UnsafeRawBufferPointer, of field: Field, isNumpy: Bool, path: String
    ) throws(ConveyorError) -> (UnsafeRawBufferPointer, rows: Int) {
        guard isNumpy else {
            guard bytes.count <= field.maxRows else {
                throw .itemTooLarge(field: field.name, length: bytes.count, maximum: field.maxRows)
            }
            return (bytes, bytes.count)
        }
        let header = try NumpyHeader(parsing: bytes, path: path, allowingScalar: true)
        let rows = header.shape.first ?? 1
        guard header.dtype == field.dtype, header.shape.isEmpty == field.shape.isEmpty,
            header.shape.dropFirst().elementsEqual(field.shape.dropFirst()), rows <= field.maxRows
        else {
            throw .invalidFile(path: path, problem: "an array of \(header.dtype)\(header.shape) does not fit field \(field); did the shard change?")
        }
        return (UnsafeRawBufferPointer(rebasing: bytes[header.dataOffset..<(header.dataOffset + header.dataByteCount)]), rows)
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

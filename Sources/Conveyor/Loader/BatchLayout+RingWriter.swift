/// Collation straight into a shared-ring slot: what the process backend's
/// workers do. The slot's schema is `batchSchema`; every sample is
/// written in place through the same `SampleWriter` the array collation uses.
extension BatchLayout {
    /// Collates the samples at `indices` of `dataset` into the reserved slot
    /// of `writer`, whose ring's schema must begin with the fields of
    /// `batchSchema` (any fields after them are left alone): each field's first
    /// `indices.count` rows hold the samples (zero beyond their rows, whatever
    /// the slot held before), the
    /// "<name>.rows" fields their row counts. The caller commits.
    func collate<D: SchemaDataset>(
        _ dataset: D, indices: ArraySlice<Int>, context: SampleContext, into writer: inout RingWriter
    ) throws {
        let expected = try batchSchema
        // The slot may carry fields of its own after the batch's (the process backend's tag).
        guard Array(writer.schema.fields.prefix(expected.fields.count)) == expected.fields else {
            throw ConveyorError.schemaMismatch(expected: expected.description, found: writer.schema.description)
        }
        guard indices.count <= batchSize else {
            throw ConveyorError.invalidArgument("\(indices.count) samples do not fit a batch of \(batchSize)")
        }
        let fieldCount = sampleSchema.fields.count
        var rows: [[Int]] = []
        // The slot holds an earlier batch: zeroed first, or (for a dataset that writes every row it uses)
        // only in the rows its samples left unused.
        let zeroFirst = !dataset.writesEveryUsedByte
        try BatchLayout.withRawFields(of: writer, fields: 0..<fieldCount) { buffers in
            if zeroFirst {
                for (field, buffer) in buffers.enumerated() {
                    let used = byteCount(of: field, samples: indices.count)
                    UnsafeMutableRawBufferPointer(rebasing: buffer[0..<used]).initializeMemory(as: UInt8.self, repeating: 0)
                }
            }
            rows = try writeSamples(of: dataset, indices: indices, context: context, into: buffers)
            if !zeroFirst { zeroUnusedRows(rows, in: buffers) }
        }
        for field in 0..<fieldCount {
            try writer.withUnsafeMutableBufferPointer(of: fieldCount + field, as: Int32.self) { counts in
                counts.initialize(repeating: 0)  // the places of samples beyond the batch's count
                for (position, used) in rows[field].enumerated() { counts[position] = Int32(used) }
            }
            try writer.setRows(indices.count, of: field)
            try writer.setRows(indices.count, of: fieldCount + field)
        }
    }

    /// Zeroes, in each field's `buffer`, the rows past those each sample used (`rows[field][sample]`).
    private func zeroUnusedRows(_ rows: [[Int]], in buffers: [UnsafeMutableRawBufferPointer]) {
        for (field, buffer) in buffers.enumerated() {
            let description = sampleSchema.fields[field]
            guard rows[field].contains(where: { $0 < description.maxRows }) else { continue }
            for (sample, used) in rows[field].enumerated() where used < description.maxRows {
                let start = sample * description.maxBytes
                let unused = (start + used * description.bytesPerRow)..<(start + description.maxBytes)
                UnsafeMutableRawBufferPointer(rebasing: buffer[unused]).initializeMemory(as: UInt8.self, repeating: 0)
            }
        }
    }

    /// Lends the slot memory of `fields` of `writer`, as raw bytes, to `body` at once.
    private static func withRawFields(
        of writer: borrowing RingWriter, fields: Range<Int>, lent: [UnsafeMutableRawBufferPointer] = [],
        _ body: ([UnsafeMutableRawBufferPointer]) throws -> Void
    ) throws {
        guard let field = fields.first else { return try body(lent) }
        try withRawField(field, of: writer) { buffer in
            try withRawFields(of: writer, fields: fields.dropFirst(), lent: lent + [buffer], body)
        }
    }

    /// Lends field `field` of `writer` as raw bytes, whatever its dtype.
    private static func withRawField(
        _ field: Int, of writer: borrowing RingWriter, _ body: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        func lend<Scalar: DTypeScalar>(_ type: Scalar.Type) throws {
            try writer.withUnsafeMutableBufferPointer(of: field, as: type) { try body(UnsafeMutableRawBufferPointer($0)) }
        }
        switch writer.schema.fields[field].dtype {
        case .uint8: try lend(UInt8.self)
        case .int8: try lend(Int8.self)
        case .int16: try lend(Int16.self)
        case .uint16: try lend(UInt16.self)
        case .int32: try lend(Int32.self)
        case .uint32: try lend(UInt32.self)
        case .int64: try lend(Int64.self)
        case .uint64: try lend(UInt64.self)
        case .float16: try lend(Float16.self)
        case .float32: try lend(Float.self)
        case .float64: try lend(Double.self)
        }
    }
}

extension Schema {
    /// One sample as `write` writes it through a `SampleWriter`, returned
    /// as tensors holding the rows it set: for sources whose fast path is
    /// the writer and that need a `Sample` now and then.
    func sample(_ write: (inout SampleWriter) throws -> Void) throws -> Sample {
        let buffers = fields.map { UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(1, $0.maxBytes), alignment: 16) }
        defer { for buffer in buffers { buffer.deallocate() } }
        for buffer in buffers { buffer.initializeMemory(as: UInt8.self, repeating: 0) }
        let (_, rows) = try BatchWriter.with(schema: self, count: 1, fields: buffers) { batch in
            try batch.withSample(0) { try write(&$0) }
        }
        var sample = Sample([:])
        for (field, (buffer, fieldRows)) in zip(fields, zip(buffers, rows)) {
            let count = fieldRows[0]
            let shape = field.shape.isEmpty ? [] : [count] + field.shape.dropFirst()
            sample[field.name] = try Tensor(
                dtype: field.dtype, shape: shape, bytes: Array(buffer.prefix(field.shape.isEmpty ? field.maxBytes : count * field.bytesPerRow)))
        }
        return sample
    }
}

// The former names of renamed public API, each forwarding to its new name so
// code written against the old names still compiles (with a deprecation
// warning that names the replacement). Nothing in this package calls them.

extension LoaderStats {
    /// Seconds from the epoch's start to now (live) or to its last batch.
    @available(*, deprecated, renamed: "elapsed")
    public var seconds: Double { elapsedSeconds }

    /// Seconds the consumer spent inside `next()` waiting for a batch.
    @available(*, deprecated, renamed: "dataStall")
    public var dataStallSeconds: Double { dataStall.conveyorSeconds }
}

extension SampleWriter {
    /// Calls `body` with the scalars of the field named `name`, room for its maximum rows.
    @available(*, deprecated, renamed: "withUnsafeMutableBufferPointer(of:as:_:)")
    public mutating func withScalars<Scalar: DTypeScalar, Result>(
        of name: String, as type: Scalar.Type, _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> Result
    ) throws -> Result {
        try withUnsafeMutableBufferPointer(of: name, as: type, body)
    }

    /// Sets how many rows of field `field` (an index in the schema) this sample uses.
    @available(*, deprecated, renamed: "setRows(_:of:)")
    public mutating func setRows(_ count: Int, ofField field: Int) throws(ConveyorError) {
        try setRows(count, of: field)
    }

    /// Calls `body` with the raw bytes of field `field` (an index in the schema).
    @available(*, deprecated, renamed: "withUnsafeMutableBytes(of:_:)")
    public mutating func withBytes<Result>(
        ofField field: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try withUnsafeMutableBytes(of: field, body)
    }
}

extension BatchWriter {
    /// The bytes one sample takes in field `field`: its `maxBytes`.
    @available(*, deprecated, renamed: "sampleBytes(of:)")
    public func sampleBytes(ofField field: Int) -> Int { sampleBytes(of: field) }

    /// Sets how many rows of field `field` the sample at `position` uses.
    @available(*, deprecated, renamed: "setRows(_:of:sample:)")
    public mutating func setRows(_ rows: Int, ofField field: Int, sample position: Int) throws(ConveyorError) {
        try setRows(rows, of: field, sample: position)
    }

    /// Calls `body` with the bytes of field `field` for the whole batch.
    @available(*, deprecated, renamed: "withUnsafeMutableBytes(of:_:)")
    public mutating func withBytes<Result>(
        ofField field: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        try withUnsafeMutableBytes(of: field, body)
    }
}

extension BatchLayout {
    /// The bytes `samples` samples take in field `field`.
    @available(*, deprecated, renamed: "byteCount(of:samples:)")
    public func byteCount(ofField field: Int, samples: Int) -> Int { byteCount(of: field, samples: samples) }
}

extension Tensor {
    /// Calls `body` with the scalars, mutable in place.
    @available(*, deprecated, renamed: "withUnsafeMutableBufferPointer(as:_:)")
    public mutating func withMutableScalars<Scalar: DTypeScalar, Result>(
        as type: Scalar.Type, _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> Result
    ) throws -> Result {
        try withUnsafeMutableBufferPointer(as: type, body)
    }
}

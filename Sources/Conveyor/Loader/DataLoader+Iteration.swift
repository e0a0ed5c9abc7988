extension DataLoader: AsyncSequence {
    /// One epoch, asynchronously: `for try await batch in loader`. The error
    /// that ends an epoch (a failed sample, a timeout) is thrown at that
    /// batch's place; the iteration then ends.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let cursor: EpochCursor<Output>

        /// The next batch; nil at the epoch's end.
        public mutating func next() async throws -> Output? {
            try await cursor.next()
        }
    }

    /// Starts an epoch (see the type's notes on which).
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(cursor: beginIteration())
    }
}

extension DataLoader {
    /// One epoch, on the calling thread: `next()` blocks until the next batch.
    ///
    /// ```swift
    /// var batches = loader.makeBatchIterator()
    /// while let batch = try batches.next() { train(batch) }
    /// ```
    public struct BatchIterator {
        let cursor: EpochCursor<Output>

        /// The next batch; nil at the epoch's end; throws the error that ends it.
        public mutating func next() throws(ConveyorError) -> Output? {
            try cursor.next()
        }

        /// Whether the epoch's iteration is over: its last batch was
        /// delivered, or an error, `stop()` or a newer iteration ended it.
        public var isFinished: Bool { cursor.isFinished }
    }

    /// Starts an epoch (see the type's notes on which), iterated on the calling thread.
    public func makeBatchIterator() -> BatchIterator {
        BatchIterator(cursor: beginIteration())
    }

    /// One epoch as a plain `Sequence` on the calling thread: each element is a
    /// batch, or the error that ended the epoch (the last element then).
    ///
    /// ```swift
    /// for result in loader.results {
    ///     let batch = try result.get()
    ///     train(batch)
    /// }
    /// ```
    public var results: Results { Results(loader: self) }

    /// See `results`.
    public struct Results: Sequence {
        fileprivate let loader: DataLoader<Output>

        /// Starts an epoch.
        public func makeIterator() -> Iterator {
            Iterator(batches: loader.makeBatchIterator())
        }

        /// Yields batches, then the error that ended the epoch if one did.
        public struct Iterator: IteratorProtocol {
            fileprivate var batches: BatchIterator

            /// The next batch or error; nil at the end.
            public mutating func next() -> Result<Output, ConveyorError>? {
                do {
                    return try batches.next().map { .success($0) }
                } catch {
                    return .failure(error)
                }
            }
        }
    }
}

extension DataLoader.BatchIterator where Output == TensorBatch {
    /// The next batch, lent to `body` where it lies (see `BatchView`): with
    /// worker processes, the shared-memory slot its worker wrote, so nothing
    /// is copied; the slot goes back to the worker when `body` returns. Nil
    /// at the epoch's end; throws what `next()` throws, and what `body`
    /// throws (that batch counts as delivered).
    ///
    /// ```swift
    /// var batches = loader.makeBatchIterator()
    /// while let loss = try batches.next(inPlace: { batch in
    ///     try batch.withUnsafeBufferPointer(of: "image", as: Float.self) { train(model, $0) }
    /// }) {
    ///     print(loss)
    /// }
    /// ```
    public mutating func next<R>(inPlace body: (borrowing BatchView) throws -> R) throws -> R? {
        try cursor.next(inPlace: body)
    }
}

/// A random-access source of samples: a count, and the sample at any index.
/// Workers call it in parallel, so it must be `Sendable` and safe to call
/// from several threads at once.
///
/// Implement `sample(at:)`; implement `sample(at:context:)` instead when the
/// sample depends on the epoch or needs reproducible randomness.
///
/// ```swift
/// struct Squares: Dataset {
///     var count: Int { 1000 }
///     func sample(at index: Int) throws -> Int { index * index }
/// }
/// ```
public protocol Dataset: Sendable {
    /// What one sample is.
    associatedtype Element: Sendable

    /// The number of samples; valid indices are `0..<count`.
    var count: Int { get }

    /// The sample at `index`.
    func sample(at index: Int) throws -> Element

    /// The sample at `index` in the epoch and with the seed `context` gives.
    /// The default calls `sample(at:)`.
    func sample(at index: Int, context: SampleContext) throws -> Element

    /// The samples at `indices`, in their order: a whole batch at once. The
    /// default calls `sample(at:context:)` for each; implement it when a
    /// batch can be gathered more cheaply, as `ArrayDataset` does. Throw
    /// `.sourceFailed` naming the index that failed (`context.blaming(index:)`).
    func samples(at indices: ArraySlice<Int>, context: SampleContext) throws -> [Element]
}

extension Dataset {
    /// Calls `sample(at:)`.
    public func sample(at index: Int, context: SampleContext) throws -> Element {
        try sample(at: index)
    }

    /// Calls `sample(at:context:)` for each index; a sample that fails is
    /// reported as `.sourceFailed` with its index.
    public func samples(at indices: ArraySlice<Int>, context: SampleContext) throws -> [Element] {
        var samples: [Element] = []
        samples.reserveCapacity(indices.count)
        for index in indices {
            samples.append(try context.blaming(index: index) { try sample(at: index, context: context) })
        }
        return samples
    }

    /// A dataset whose samples are this one's passed through `transform`, in
    /// the worker, with a random generator derived from (seed, epoch, index):
    /// the same augmentation for a sample whatever the number of workers.
    ///
    /// ```swift
    /// let flipped = images.map { sample, random in
    ///     Bool.random(using: &random) ? flip(sample) : sample
    /// }
    /// ```
    public func map<Output: Sendable>(
        _ transform: @escaping @Sendable (Element, inout SeededRandom) throws -> Output
    ) -> MapDataset<Self, Output> {
        MapDataset(base: self, transform: transform)
    }
}

/// A dataset whose samples have a fixed layout (a schema) and can be written
/// straight into a batch's memory: an array batch in process, or a slot of
/// the shared ring with the process backend.
public protocol SchemaDataset: Dataset where Element: SampleWritable {
    /// The fields of one sample; `shape[0]` of each is its maximum rows.
    var schema: Schema { get }

    /// Writes the sample at `index` into `writer`. The default gets the sample
    /// and writes it; implement it to write without an intermediate copy.
    func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws

    /// Writes the samples at `indices`, the one at position `p` as sample `p`
    /// of `batch`. The default writes them one by one through
    /// `write(sampleAt:context:into:)` (so a `.map` transform, which has only
    /// that path, runs for each); implement it to gather a whole batch at
    /// once, as the built-in datasets do. Throw `.sourceFailed` naming the
    /// index that failed (`context.blaming(index:)` makes one).
    func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws

    /// Whether `write(samplesAt:context:into:)` writes every byte of every
    /// row each sample uses (its field's maximum rows, unless it sets fewer
    /// with `setRows`), never relying on the batch being zeroed first. When
    /// true, a worker process writes the batch straight into its
    /// shared-memory slot and then zeroes only the rows samples left unused;
    /// when false (the default) the slot is zeroed before the batch is
    /// written. Either way no slot shows an earlier batch's bytes.
    var writesEveryUsedByte: Bool { get }
}

extension SchemaDataset {
    /// False: the batch is zeroed before it is written.
    public var writesEveryUsedByte: Bool { false }

    /// Gets the sample and writes it.
    public func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
        try sample(at: index, context: context).write(into: &writer)
    }

    /// Writes each sample through `write(sampleAt:context:into:)`; a sample
    /// that fails is reported as `.sourceFailed` with its index.
    public func write(samplesAt indices: ArraySlice<Int>, context: SampleContext, into batch: inout BatchWriter) throws {
        for (position, index) in indices.enumerated() {
            do {
                try batch.withSample(position) { try write(sampleAt: index, context: context, into: &$0) }
            } catch {
                throw ConveyorError(blaming: error, index: index, worker: context.worker)
            }
        }
    }
}

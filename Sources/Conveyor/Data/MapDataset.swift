/// A dataset whose samples are another's passed through a transform; made by
/// `Dataset.map(_:)`. The transform runs in the worker and gets a random
/// generator derived from (seed, epoch, index).
public struct MapDataset<Base: Dataset, Output: Sendable>: Dataset {
    /// The dataset transformed.
    public let base: Base
    /// The transform.
    public let transform: @Sendable (Base.Element, inout SeededRandom) throws -> Output

    /// `base` transformed by `transform`.
    public init(base: Base, transform: @escaping @Sendable (Base.Element, inout SeededRandom) throws -> Output) {
        self.base = base
        self.transform = transform
    }

    /// The base's count.
    public var count: Int { base.count }

    /// The transformed sample in epoch 0 with seed 0.
    public func sample(at index: Int) throws -> Output {
        try sample(at: index, context: SampleContext())
    }

    /// The base's sample at `index`, transformed with `context.random(for: index)`.
    public func sample(at index: Int, context: SampleContext) throws -> Output {
        var random = context.random(for: index)
        return try transform(base.sample(at: index, context: context), &random)
    }
}

extension MapDataset: SchemaDataset where Base: SchemaDataset, Output == Base.Element {
    /// The base's schema: a transform that keeps the sample type keeps its layout.
    public var schema: Schema { base.schema }
}

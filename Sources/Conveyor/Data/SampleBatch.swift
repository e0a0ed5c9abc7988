/// A batch of samples as they came from the dataset, not collated: what the
/// loader delivers for a dataset of any `Sendable` samples.
public struct SampleBatch<Element: Sendable>: Sendable {
    /// The epoch it belongs to.
    public let epoch: Int
    /// Its position in the epoch, from 0.
    public let index: Int
    /// The dataset indices of its samples.
    public let indices: [Int]
    /// The samples, in the order of `indices`.
    public let samples: [Element]

    /// A batch of `samples` taken from `indices`.
    public init(epoch: Int, index: Int, indices: [Int], samples: [Element]) {
        self.epoch = epoch
        self.index = index
        self.indices = indices
        self.samples = samples
    }
}

extension SampleBatch: Equatable where Element: Equatable {}

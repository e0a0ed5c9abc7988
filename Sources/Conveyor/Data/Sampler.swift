/// Which dataset indices an epoch visits, in which order. Shuffled orders
/// derive from the loader's seed and the epoch only, so every worker (and
/// every rank) computes the same order on its own.
///
/// ```swift
/// Sampler.shuffled                                                  // reshuffled each epoch
/// Sampler.distributed(rank: 1, worldSize: 4, shuffle: true, remainder: .pad)
/// ```
public enum Sampler: Sendable, Codable, Hashable {
    /// 0, 1, …, count − 1.
    case sequential
    /// A permutation of all indices, different for each epoch.
    case shuffled
    /// This rank's share of the indices (`rank`, `rank + worldSize`, … of the
    /// epoch's order): every rank gets the same number, disjoint from the
    /// others', by padding with repeated indices or dropping the remainder.
    case distributed(rank: Int, worldSize: Int, shuffle: Bool, remainder: DistributedRemainder)
    /// These indices, in this order, every epoch.
    case indices([Int])
    /// A sharded stream's order (`ShardOrder`): each worker reads its own
    /// shards sequentially and makes whole batches of them. `DataLoader(streaming:…)`
    /// sets it from the dataset's shards; `order(…)` gives the samples as
    /// batches of one would deliver them.
    case shards(ShardOrder)

    /// Throws when the sampler cannot serve a dataset of `count` samples.
    public func validate(datasetCount count: Int) throws(ConveyorError) {
        switch self {
        case .sequential, .shuffled:
            break
        case let .distributed(rank, worldSize, _, _):
            guard worldSize >= 1 else {
                throw .invalidArgument("worldSize is \(worldSize); pass the number of ranks, at least 1")
            }
            guard (0..<worldSize).contains(rank) else {
                throw .invalidArgument("rank \(rank) is outside the world of size \(worldSize); pass a rank in 0..<\(worldSize)")
            }
        case let .shards(order):
            try order.validate(datasetCount: count)
        case let .indices(indices):
            if let bad = indices.first(where: { !(0..<count).contains($0) }) {
                throw .invalidArgument("the sampler's index \(bad) is outside the dataset's 0..<\(count)")
            }
        }
    }

    /// The indices epoch `epoch` visits, in order, for a dataset of `count` samples.
    public func order(datasetCount count: Int, seed: UInt64, epoch: Int) -> [Int] {
        switch self {
        case .sequential:
            return Array(0..<count)
        case .shuffled:
            return Sampler.permutation(count: count, seed: seed, epoch: epoch)
        case let .distributed(rank, worldSize, shuffle, remainder):
            var all = shuffle ? Sampler.permutation(count: count, seed: seed, epoch: epoch) : Array(0..<count)
            let total: Int
            switch remainder {
            case .drop:
                total = count / worldSize * worldSize
            case .pad:
                total = (count + worldSize - 1) / worldSize * worldSize
                if count > 0 {
                    while all.count < total { all.append(all[all.count % count]) }
                }
            }
            return Array(stride(from: rank, to: total, by: worldSize).map { all[$0] })
        case let .indices(indices):
            return indices
        case let .shards(order):
            return order.batches(seed: seed, epoch: epoch, batchSize: 1, dropLast: false).order
        }
    }

    /// A uniformly random permutation of 0..<count for (seed, epoch), by Fisher–Yates
    /// with bounded numbers drawn by multiplication (not the standard
    /// library's, whose algorithm may change between releases).
    static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var order = Array(0..<count)
        var random = SeededRandom(seed: seed, path: [shuffleDomain, epoch])
        shuffle(&order, using: &random)
        return order
    }

    /// Shuffles `elements` in place by Fisher–Yates with `bounded(_:using:)`.
    /// Swaps through the array's buffer: `Array.swapAt` checks uniqueness
    /// and bounds at every step, which doubled the cost of a 60,000-index shuffle.
    static func shuffle<Element>(_ elements: inout [Element], using random: inout SeededRandom) {
        elements.withUnsafeMutableBufferPointer { buffer in
            var position = buffer.count - 1
            while position > 0 {
                buffer.swapAt(position, bounded(position + 1, using: &random))
                position -= 1
            }
        }
    }

    /// A number in `0..<bound` (`bound` ≥ 1), drawn by multiplication.
    static func bounded(_ bound: Int, using random: inout SeededRandom) -> Int {
        Int(UInt64(bound).multipliedFullWidth(by: random.next()).high)
    }

    /// Keeps the shuffle's stream apart from the per-sample streams (seed, epoch, index).
    private static let shuffleDomain = 0x5348_5546  // "SHUF"
}

/// What a distributed sampler does with indices that do not divide evenly among ranks.
public enum DistributedRemainder: String, Sendable, Codable, Hashable {
    /// Repeat indices from the start of the order until every rank has as many.
    case pad
    /// Leave out the last indices so every rank has as many.
    case drop
}

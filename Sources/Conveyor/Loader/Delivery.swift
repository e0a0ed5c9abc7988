/// The order in which parallel workers' items reach the consumer.
public enum Delivery: Sendable, Hashable, Codable {
    /// In index order: item k comes k-th, whatever the number of workers.
    case ordered
    /// Whichever item is ready first.
    case unordered
}

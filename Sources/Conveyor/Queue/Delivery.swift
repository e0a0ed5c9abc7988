/// The order in which parallel workers' items reach the consumer: the one
/// order type of the prefetcher, the loader and the shared ring's consumer
/// (`RingConsumer.Order`).
public enum Delivery: Sendable, Hashable, Codable {
    /// In index order: item k comes k-th, whatever the number of workers. Of a
    /// ring's lanes, round-robin: item n comes from lane n mod lanes, so
    /// producer w's k-th item is always item k × lanes + w; a silent lane
    /// holds the rest back.
    case ordered
    /// Whichever item is ready first (a ring's lanes are visited in rotation,
    /// for fairness).
    case unordered
}

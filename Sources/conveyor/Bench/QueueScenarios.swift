extension BenchCatalog {
    /// In-process scenarios: the bounded queue and the prefetcher.
    static var queueScenarios: [BenchScenario] { [] }
}

extension DataLoader where Output == TensorBatch {
    /// A loader of a sharded stream: each worker reads its own shards from
    /// front to back and makes whole batches of them (see `ShardOrder`).
    /// `configuration.sampler` chooses the shards' order: `.sequential` as
    /// given, `.shuffled` shuffled each epoch by (seed, epoch); `shuffleBuffer`
    /// samples are shuffled within each worker's stream. The batches and
    /// their order depend on (seed, worker count) only, so they are the same
    /// for `.threads(n)` and `.processes(n)`, and `state` resumes either
    /// with the same worker count. With `.processes`, use
    /// `init(streaming:…)` with a description (`TarShards.Description`).
    public convenience init<Source: ShardSource>(
        streaming dataset: StreamDataset<Source>, _ configuration: LoaderConfiguration, shuffleBuffer: Int = 0,
        resumingFrom state: LoaderState? = nil
    ) throws(ConveyorError) {
        try self.init(
            collating: dataset,
            try DataLoader.streamConfiguration(
                configuration, shardSizes: dataset.source.shardSizes, shuffleBuffer: shuffleBuffer, resumingFrom: state),
            resumingFrom: state)
    }

    /// A loader of the sharded stream `description` makes, for every backend
    /// (each worker process makes the dataset itself; register the type with
    /// `WorkerProcess.bootstrap(datasets:)` unless it is built in).
    ///
    /// ```swift
    /// let loader = try DataLoader(
    ///     streaming: TarShards.Description(paths: shardPaths),
    ///     LoaderConfiguration(batchSize: 64, sampler: .shuffled, workers: .processes(2)), shuffleBuffer: 1000)
    /// ```
    public convenience init<Description: DatasetDescription, Source: ShardSource>(
        streaming description: Description, _ configuration: LoaderConfiguration, shuffleBuffer: Int = 0,
        resumingFrom state: LoaderState? = nil
    ) throws(ConveyorError) where Description.Made == StreamDataset<Source> {
        let dataset = try DataLoader.dataset(describedBy: description)
        try self.init(
            describedBy: description, made: dataset,
            try DataLoader.streamConfiguration(
                configuration, shardSizes: dataset.source.shardSizes, shuffleBuffer: shuffleBuffer, resumingFrom: state),
            resumingFrom: state)
    }

    /// `configuration` with its sampler turned into the stream's `ShardOrder`;
    /// throws for a state saved with another worker count.
    private static func streamConfiguration(
        _ configuration: LoaderConfiguration, shardSizes: [Int], shuffleBuffer: Int, resumingFrom state: LoaderState?
    ) throws(ConveyorError) -> LoaderConfiguration {
        var configuration = configuration
        let workers = Swift.max(1, configuration.workers.workerCount)
        if let saved = state?.streamWorkers, saved != workers {
            throw .invalidArgument(
                "the state was saved by a stream loader with \(saved) workers, and a stream's batches depend on the "
                    + "worker count; resume with \(saved) workers (.inline counts as 1)")
        }
        switch configuration.sampler {
        case .sequential, .shuffled:
            configuration.sampler = .shards(ShardOrder(
                shardSizes: shardSizes, shuffleShards: configuration.sampler == .shuffled, shuffleBuffer: shuffleBuffer,
                workers: workers))
        case .shards:
            break
        case .distributed, .indices:
            throw .invalidArgument(
                "a sharded stream is read shard by shard: pass sampler .sequential or .shuffled (the shards' order), "
                    + "not \(configuration.sampler)")
        }
        return configuration
    }
}

/// A loader backend's workers, as the loader sees them: started once with
/// the loader, given one iteration at a time, shut down with it.
protocol LoaderWorkers<Output>: Sendable {
    /// What the workers make.
    associatedtype Output: Sendable
    /// The number of workers.
    var count: Int { get }
    /// Each worker's time spent making batches.
    var busyClocks: [WorkerBusyClock] { get }
    /// The workers' process ids (empty for threads).
    var processIDs: [Int32] { get }
    /// Tells every worker to make its share of `plan` from `firstBatch` on;
    /// the source the consumer takes the batches from.
    func startIteration(plan: BatchPlan, firstBatch: Int) throws(ConveyorError) -> any EpochSource<Output>
    /// Ends every worker within a bounded time.
    func shutDown()
}

/// The thread backend: a `ThreadWorkerPool` running `EpochRun`s.
struct ThreadLoaderWorkers<Output: Sendable>: LoaderWorkers {
    let pool: ThreadWorkerPool
    let make: BatchMaker<Output>
    let configuration: LoaderConfiguration

    var count: Int { pool.count }
    var busyClocks: [WorkerBusyClock] { pool.busyClocks }
    var processIDs: [Int32] { [] }

    func startIteration(plan: BatchPlan, firstBatch: Int) throws(ConveyorError) -> any EpochSource<Output> {
        let run = try EpochRun<Output>(
            plan: plan, firstBatch: firstBatch, workerCount: pool.count, prefetch: configuration.prefetch,
            delivery: configuration.delivery)
        let (seed, make, clocks) = (configuration.seed, make, pool.busyClocks)
        try pool.submit { worker in run.produce(worker: worker, seed: seed, make: make, busy: clocks[worker]) }
        return run
    }

    func shutDown() {
        pool.shutDown()
    }
}

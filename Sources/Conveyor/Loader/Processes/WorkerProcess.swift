/// The worker side of the process backend. A program that uses
/// `.processes(n)` calls `WorkerProcess.bootstrap(datasets:)` first thing in
/// its `main`: in the program itself it registers the dataset description
/// types and returns at once; in a worker (the program re-run by its loader,
/// with the job in its environment) it makes batches until its loader stops
/// it, then exits — it never returns to the program's own code.
///
/// ```swift
/// @main struct Train {
///     static func main() async throws {
///         WorkerProcess.bootstrap(datasets: MyImages.self)
///         let loader = try DataLoader(describedBy: MyImages(root: "data"),
///                                     LoaderConfiguration(batchSize: 64, workers: .processes(4)))
///         for try await batch in loader { /* train */ }
///     }
/// }
/// ```
public enum WorkerProcess {
    /// The exit status of a worker that could not start (its error is on its stderr).
    public static let startFailureStatus: Int32 = 71

    /// Registers `datasets` (see `DatasetRegistry`) and, in a worker process,
    /// becomes the worker and exits without returning. A name clash between
    /// two registered types stops the program with a message saying so.
    public static func bootstrap(datasets: any DatasetDescription.Type...) {
        for type in datasets {
            do {
                try register(type)
            } catch {
                fatalError("WorkerProcess.bootstrap: \(error)")
            }
        }
        guard let value = SystemCalls.environmentValue(WorkerJob.environmentKey) else { return }
        // Processes this worker's dataset code may start must not become workers too.
        SystemCalls.removeEnvironmentValue(WorkerJob.environmentKey)
        do {
            try WorkerProcess.serve(WorkerJob(environmentValue: value))
            SystemCalls.exitProcess(0)
        } catch {
            SystemCalls.writeStandardError("conveyor worker process \(SystemCalls.processID()): \(error)\n")
            SystemCalls.exitProcess(startFailureStatus)
        }
    }

    /// Whether this process was started as a worker (and `bootstrap` has not consumed its job yet).
    public static var isWorker: Bool { SystemCalls.environmentValue(WorkerJob.environmentKey) != nil }

    private static func register<Description: DatasetDescription>(_ type: Description.Type) throws(ConveyorError) {
        try DatasetRegistry.register(type)
    }

    /// The name of this program (its argv[0] without the directory), which
    /// its workers' names start with.
    static var programName: String {
        let path = CommandLine.arguments.first ?? ""
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        return name.isEmpty ? "conveyor" : name
    }

    /// A worker's argv[0], what `ps` and `pgrep -f` show: "trainer: conveyor worker 1".
    static func title(program: String, worker: Int) -> String {
        "\(program): conveyor worker \(worker)"
    }

    /// A worker's thread name, what `top` and `pgrep` show, cut to the
    /// kernel's 15 bytes by shortening the program's name: "trainer:worker1".
    static func threadName(program: String, worker: Int) -> String {
        let suffix = ":worker\(worker)"
        var name = Substring(program)
        while name.utf8.count + suffix.utf8.count > 15, !name.isEmpty { name = name.dropLast() }
        return String(name) + suffix
    }

    /// Runs the job until the consumer stops it or goes away.
    static func serve(_ job: WorkerJob) throws(ConveyorError) {
        // Best effort: a worker with its program's default name works as well.
        try? SystemCalls.setThreadName(threadName(program: job.program, worker: job.worker))
        guard let type = DatasetRegistry.type(named: job.datasetType) else {
            throw .invalidArgument(
                "the dataset type '\(job.datasetType)' is not registered in the worker; "
                    + "pass it to WorkerProcess.bootstrap(datasets:) first thing in main")
        }
        try serve(type, job)
    }

    private static func serve<Description: DatasetDescription>(
        _ type: Description.Type, _ job: WorkerJob
    ) throws(ConveyorError) {
        let description = try job.decodeDescription(as: type)
        let dataset: Description.Made
        do {
            dataset = try description.makeDataset()
        } catch {
            throw .sourceFailed(index: nil, worker: job.worker, message: "the worker could not make the dataset: \(error)")
        }
        guard dataset.count == job.datasetCount else {
            throw .invalidArgument(
                "the dataset has \(dataset.count) samples in worker \(job.worker) but \(job.datasetCount) in the consumer; "
                    + "a description must make the same dataset in every process")
        }
        let slot = try BatchSlot(layout: BatchLayout(sampleSchema: dataset.schema, batchSize: job.batchSize))
        let ring = try SharedRing.attach(descriptor: job.ringDescriptor, expecting: slot.schema)
        SystemCalls.close(job.ringDescriptor)  // the mapping stays; the consumer's descriptor keeps the segment
        let producer = try ring.producer(lane: job.worker)
        // Ends this worker as soon as its consumer ends, whatever it is doing
        // (the control channel's end is seen only between batches).
        try ChildProcess.bindLifetimeToParent(expectedParent: job.parentPID)
        // Ctrl-C reaches the whole process group: the consumer decides what it means (it may save a checkpoint);
        // a worker ends when told to or when its consumer is gone.
        SystemCalls.ignoreInterrupts()
        var worker = WorkerLoop(
            job: job, dataset: dataset, slot: slot, producer: producer,
            channel: ControlChannel(descriptor: job.controlDescriptor))
        try worker.run()
    }
}

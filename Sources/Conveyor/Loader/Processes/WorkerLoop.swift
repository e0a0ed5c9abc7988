/// A worker process's work: take commands, make the batches the schedule
/// says, each collated straight into a reserved slot of its lane, and commit
/// them; a failure goes into the slot in the batch's place.
struct WorkerLoop<Dataset: SchemaDataset>: ~Copyable {
    let job: WorkerJob
    let dataset: Dataset
    let slot: BatchSlot
    let producer: RingProducer
    let channel: ControlChannel
    private var schedule: WorkerSchedule
    private var plan: BatchPlan?
    /// A command that arrived while waiting for room, handled next.
    private var pending: WorkerCommand?

    /// How long one wait for room or for a command lasts before the channel is looked at again.
    static var waitSliceMilliseconds: Int32 { 100 }

    init(job: WorkerJob, dataset: Dataset, slot: BatchSlot, producer: RingProducer, channel: ControlChannel) {
        self.job = job
        self.dataset = dataset
        self.slot = slot
        self.producer = producer
        self.channel = channel
        self.schedule = WorkerSchedule(worker: job.worker, workerCount: job.workerCount)
    }

    /// Serves until told to stop or the consumer goes away.
    mutating func run() throws(ConveyorError) {
        while true {
            let received: ControlChannel.Received
            if let command = pending {
                pending = nil
                received = .command(command)
            } else {
                received = try channel.receive(waitingMilliseconds: schedule.isIdle ? WorkerLoop.waitSliceMilliseconds : 0)
            }
            switch received {
            case .closed, .command(.stop):
                return
            case let .command(.run(generation, epoch, firstBatch)):
                let plan = try BatchPlan(
                    sampler: job.sampler, datasetCount: job.datasetCount, batchSize: job.batchSize,
                    dropLast: job.dropLast, seed: job.seed, epoch: epoch)
                self.plan = plan
                schedule.start(
                    generation: generation, epoch: epoch,
                    assignment: WorkerAssignment(plan: plan, firstBatch: firstBatch, workerCount: job.workerCount))
                continue
            case .nothing:
                break
            }
            guard let plan, let generation = schedule.current?.generation, let batch = schedule.take() else { continue }
            guard var writer = try reserveSlot() else { continue }  // a newer command came: this batch is not wanted
            let start = SystemCalls.monotonicNanoseconds()
            let context = SampleContext(plan: plan, seed: job.seed, worker: job.worker)
            do {
                try slot.layout.collate(dataset, indices: plan.indices(ofBatch: batch), context: context, into: &writer)
                try slot.markMade(&writer, generation: generation, batch: batch,
                                  busyNanoseconds: SystemCalls.monotonicNanoseconds() - start)
            } catch {
                schedule.abandon()
                var index: Int?
                var message = String(describing: error)
                if case let .sourceFailed(failedIndex, _, failedMessage) = ConveyorError(blaming: error, worker: job.worker) {
                    index = failedIndex
                    message = failedMessage
                }
                do {
                    try slot.markFailed(&writer, generation: generation, batch: batch, index: index, message: message,
                                        busyNanoseconds: SystemCalls.monotonicNanoseconds() - start)
                } catch {
                    throw .unavailable("worker \(job.worker) could not report a failure: \(error)")
                }
            }
            do throws(ConveyorError) {
                try writer.commit()
            } catch .ringReset {
                continue  // someone emptied the ring: the consumer drops what is stale
            }
        }
    }

    /// A slot to write the next batch into, waiting for room; nil when a
    /// command arrived meanwhile (it is `pending` then) or the consumer is gone.
    private mutating func reserveSlot() throws(ConveyorError) -> RingWriter? {
        while true {
            do throws(ConveyorError) {
                return try producer.reserve(timeout: .milliseconds(Int64(WorkerLoop.waitSliceMilliseconds)))
            } catch .timedOut, .ringReset {
                switch try channel.receive() {
                case .nothing: continue
                case let .command(command): pending = command
                case .closed: pending = .stop
                }
                return nil
            } catch .consumerGone {
                pending = .stop
                return nil
            }
        }
    }
}

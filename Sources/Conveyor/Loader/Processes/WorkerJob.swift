import FoundationEssentials

/// Everything a worker process needs, passed in its environment as JSON:
/// the dataset (type name + the description's own JSON), how to batch, the
/// seed, which worker it is, and the descriptors it inherited.
struct WorkerJob: Codable, Sendable, Hashable {
    /// The environment variable that holds the job; only a worker has it.
    static let environmentKey = "CONVEYOR_WORKER_JOB"

    /// The registered name of the dataset description's type.
    var datasetType: String
    /// The description, as JSON.
    var datasetDescription: String
    /// The sample count the consumer's own copy of the dataset has.
    var datasetCount: Int
    /// Samples per batch.
    var batchSize: Int
    /// Whether a short last batch is left out.
    var dropLast: Bool
    /// Which indices an epoch visits.
    var sampler: Sampler
    /// The base seed.
    var seed: UInt64
    /// This worker's index: its lane of the ring.
    var worker: Int
    /// The number of workers.
    var workerCount: Int
    /// The inherited descriptor of the ring.
    var ringDescriptor: Int32
    /// The inherited descriptor of the worker's end of its control channel.
    var controlDescriptor: Int32
    /// The consumer's pid: the worker exits when its parent is no longer it.
    var parentPID: Int32
    /// The consumer's program name, for the worker's own names (`WorkerProcess.title`).
    var program: String

    /// The job for the value of `environmentKey`.
    var environmentValue: String {
        get throws(ConveyorError) {
            do {
                return String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
            } catch {
                throw .invalidArgument("the worker job cannot be encoded: \(error)")
            }
        }
    }

    /// The job in `value`, as `environmentValue` made it.
    init(environmentValue value: String) throws(ConveyorError) {
        do {
            self = try JSONDecoder().decode(WorkerJob.self, from: Data(value.utf8))
        } catch {
            throw .invalidArgument(
                "\(WorkerJob.environmentKey) does not hold a worker job (\(error)); it is set only for worker processes")
        }
    }

    /// A job; see the properties.
    init(
        datasetType: String, datasetDescription: String, datasetCount: Int, batchSize: Int, dropLast: Bool,
        sampler: Sampler, seed: UInt64, worker: Int, workerCount: Int, ringDescriptor: Int32,
        controlDescriptor: Int32, parentPID: Int32, program: String
    ) {
        self.datasetType = datasetType
        self.datasetDescription = datasetDescription
        self.datasetCount = datasetCount
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.sampler = sampler
        self.seed = seed
        self.worker = worker
        self.workerCount = workerCount
        self.ringDescriptor = ringDescriptor
        self.controlDescriptor = controlDescriptor
        self.parentPID = parentPID
        self.program = program
    }

    /// `description` as JSON, for `datasetDescription`.
    static func encode<Description: DatasetDescription>(_ description: Description) throws(ConveyorError) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(description), as: UTF8.self)
        } catch {
            throw .invalidArgument("the dataset description \(Description.self) cannot be encoded: \(error)")
        }
    }

    /// The description in `datasetDescription`, decoded as `type`.
    func decodeDescription<Description: DatasetDescription>(as type: Description.Type) throws(ConveyorError) -> Description {
        do {
            return try JSONDecoder().decode(type, from: Data(datasetDescription.utf8))
        } catch {
            throw .invalidArgument("the dataset description of type '\(datasetType)' cannot be decoded: \(error)")
        }
    }
}

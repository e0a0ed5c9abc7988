import Conveyor

/// A loader configuration as C callers write it (JSON): LoaderConfiguration's
/// fields, with plain forms for the enums and seconds for the timeout.
struct LoaderRequest: Decodable {
    var batchSize: Int
    var sampler: SamplerForm?
    var dropLast: Bool?
    var workers: WorkersForm?
    var prefetch: Int?
    var delivery: String?
    var seed: UInt64?
    var batchTimeoutSeconds: Double?
    var label: String?
    var workerExecutable: String?
    /// Lend batches where their workers wrote them (true or nil), or copy each out (false).
    var inPlace: Bool?

    /// "sequential", "shuffled", {"indices": [...]} or {"distributed": {...}}.
    struct SamplerForm: Decodable {
        var sampler: Sampler

        init(from decoder: any Decoder) throws {
            if let name = try? decoder.singleValueContainer().decode(String.self) {
                switch name {
                case "sequential": sampler = .sequential
                case "shuffled": sampler = .shuffled
                default: throw ConveyorError.invalidArgument("sampler '\(name)': use sequential, shuffled, indices or distributed")
                }
                return
            }
            let container = try decoder.container(keyedBy: Keys.self)
            if let indices = try container.decodeIfPresent([Int].self, forKey: .indices) {
                sampler = .indices(indices)
            } else if let shares = try container.decodeIfPresent(Distributed.self, forKey: .distributed) {
                sampler = .distributed(rank: shares.rank, worldSize: shares.worldSize, shuffle: shares.shuffle ?? true,
                                       remainder: shares.remainder ?? .pad)
            } else {
                throw ConveyorError.invalidArgument("a sampler object needs 'indices' or 'distributed'")
            }
        }

        enum Keys: String, CodingKey { case indices, distributed }

        struct Distributed: Decodable {
            var rank: Int
            var worldSize: Int
            var shuffle: Bool?
            var remainder: DistributedRemainder?
        }
    }

    /// "inline", {"threads": n} or {"processes": n}.
    struct WorkersForm: Decodable {
        var backend: WorkerBackend

        init(from decoder: any Decoder) throws {
            if let name = try? decoder.singleValueContainer().decode(String.self) {
                guard name == "inline" else {
                    throw ConveyorError.invalidArgument("workers '\(name)': use inline, {threads: n} or {processes: n}")
                }
                backend = .inline
                return
            }
            let container = try decoder.container(keyedBy: Keys.self)
            if let count = try container.decodeIfPresent(Int.self, forKey: .threads) {
                backend = .threads(count)
            } else if let count = try container.decodeIfPresent(Int.self, forKey: .processes) {
                backend = .processes(count)
            } else {
                throw ConveyorError.invalidArgument("a workers object needs 'threads' or 'processes'")
            }
        }

        enum Keys: String, CodingKey { case threads, processes }
    }

    /// The configuration it asks for.
    func configuration() throws(ConveyorError) -> LoaderConfiguration {
        let order: Delivery
        switch delivery ?? "ordered" {
        case "ordered": order = .ordered
        case "unordered": order = .unordered
        case let other: throw .invalidArgument("delivery '\(other)': use ordered or unordered")
        }
        return LoaderConfiguration(
            batchSize: batchSize, sampler: sampler?.sampler ?? .sequential, dropLast: dropLast ?? false,
            workers: workers?.backend ?? .inline, prefetch: prefetch ?? 2, delivery: order,
            seed: seed ?? 0, batchTimeout: try batchTimeoutSeconds.flatMap { (seconds) throws(ConveyorError) in try timeout(seconds: seconds) },
            label: label ?? "loader", workerExecutable: workerExecutable)
    }
}

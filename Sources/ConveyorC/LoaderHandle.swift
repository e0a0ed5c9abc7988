import Conveyor

/// A loader held by a C caller: the loader, its pump thread and the batch
/// the caller holds.
final class LoaderHandle: HandleObject, @unchecked Sendable {
    static let kind = "loader"
    let loader: DataLoader<TensorBatch>
    let schema: Schema
    /// Lends batches in place (nil: batches are copied out on the caller's thread, by `copier`).
    private let pump: LoaderPump?
    private let copier: BatchCopier?
    /// The iteration when batches are copied out.
    private var copying: DataLoader<TensorBatch>.BatchIterator?
    private var generation = 0
    private var iterating = false
    private(set) var lent: LoaderPump.LentBatch?

    /// Starts a loader of the registered description type `typeName`, made from `json`.
    /// Batches up to this size are copied out of their slot on the caller's
    /// thread (a few microseconds); larger ones are lent in place through the
    /// pump thread, whose two hand-offs per batch cost more than copying a small batch.
    static let largestCopiedBatch = 256 * 1024

    /// `inPlace` nil picks by the batch's size (see `largestCopiedBatch`).
    init(
        typeName: String, json: String, configuration: LoaderConfiguration, state: LoaderState?, inPlace: Bool?
    ) throws(ConveyorError) {
        guard let type = DatasetRegistry.type(named: typeName) else {
            throw .invalidArgument("no dataset description type is registered as '\(typeName)'; built in: "
                + "NumpyDataset, SyntheticImageDataset, DirectoryDataset; register your own from a library that "
                + "embeds this interface (conveyor_register_datasets in conveyor.h)")
        }
        (loader, schema) = try LoaderHandle.make(type, json, configuration, state)
        let large = schema.maxBytes * max(1, configuration.batchSize) > LoaderHandle.largestCopiedBatch
        pump = inPlace ?? large ? try LoaderPump(loader: loader) : nil
        copier = pump == nil ? BatchCopier(schema: schema, batchSize: max(1, configuration.batchSize)) : nil
    }

    private static func make<Description: DatasetDescription>(
        _ type: Description.Type, _ json: String, _ configuration: LoaderConfiguration, _ state: LoaderState?
    ) throws(ConveyorError) -> (DataLoader<TensorBatch>, Schema) {
        let description = try CText.decode(type, from: json, "dataset_json (\(Description.typeName))")
        let schema: Schema
        do {
            schema = try description.makeDataset().schema
        } catch let error as ConveyorError {
            throw error
        } catch {
            throw .invalidArgument("\(Description.typeName) could not make its dataset: \(error)")
        }
        return (try DataLoader(describedBy: description, configuration, resumingFrom: state), schema)
    }

    /// Starts an iteration over the next epoch, abandoning one still going.
    func beginEpoch() throws(ConveyorError) {
        generation += 1
        lent = nil
        iterating = true
        guard let pump else {
            copying = loader.makeBatchIterator()
            return
        }
        pump.dropPendingResults()
        try pump.commands.put(.iterate(generation: generation), timeout: .seconds(10))
    }

    /// The next batch, lent until `release` or the next call; nil at the end.
    func next(timeout: Duration?) throws(ConveyorError) -> LoaderPump.LentBatch? {
        guard iterating else {
            throw .invalidArgument("no iteration is going: call conveyor_loader_begin_epoch first")
        }
        try release()
        guard let pump else { return try nextCopied() }
        while true {
            let result: LoaderPump.Result?
            do {
                result = try pump.results.get(timeout: timeout)
            } catch .timedOut {
                throw .timedOut(operation: "waiting for the loader's next batch", after: timeout ?? .zero)
            }
            guard let result else { throw .closed("the loader") }
            guard result.generation == generation else { continue }  // an abandoned iteration's
            switch result {
            case let .batch(_, batch):
                lent = batch
                return batch
            case .end:
                iterating = false
                return nil
            case let .failed(_, error):
                iterating = false
                throw error
            }
        }
    }

    /// The next batch copied out of its slot on this thread (waiting up to the
    /// configuration's `batchTimeout`); nil at the end.
    private func nextCopied() throws(ConveyorError) -> LoaderPump.LentBatch? {
        guard var batches = copying, let copier else { return nil }
        let copied: LoaderPump.LentBatch?
        do {
            copied = try batches.next(inPlace: { view in try copier.copy(view) })
        } catch {
            iterating = false
            copying = nil
            throw error as? ConveyorError ?? .sourceFailed(index: nil, worker: nil, message: "\(error)")
        }
        guard let copied else {
            iterating = false
            copying = nil
            return nil
        }
        copying = batches
        lent = copied
        return copied
    }

    /// Gives the lent batch back.
    func release() throws(ConveyorError) {
        guard lent != nil else { return }
        lent = nil
        try pump?.commands.put(.release, timeout: .seconds(10))
    }

    /// Where the loader is for the C caller: a lent batch counts as delivered
    /// (the caller has it), so a resume starts after it.
    var state: LoaderState {
        let state = loader.state
        guard let lent else { return state }
        return LoaderState(seed: state.seed, epoch: lent.epoch, nextBatch: lent.index + 1)
    }

    func close() {
        lent = nil
        copying = nil
        pump?.close()
        loader.stop()
        pump?.waitUntilFinished(timeout: .seconds(10))
    }
}

/// `conveyor_loader_describe`'s answer.
struct LoaderDescription: Encodable {
    var schema: SchemaDocument
    var datasetCount: Int
    var workerProcessIDs: [Int32]
    var state: LoaderState
}

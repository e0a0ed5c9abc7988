import Conveyor

/// A loader held by a C caller and the batch the caller holds: lent in
/// place (a `BatchLease` the handle keeps until the caller releases it, read
/// on the caller's thread), or copied out of its slot into buffers the
/// handle reuses.
final class LoaderHandle: HandleObject, @unchecked Sendable {
    static let kind = "loader"
    let loader: DataLoader<TensorBatch>
    let schema: Schema
    /// `schema.fields.count`, checked at every batch.
    let fieldCount: Int
    /// Copies batches out (nil: batches are lent in place).
    private let copier: BatchCopier?
    /// The iteration going, if any.
    private var batches: DataLoader<TensorBatch>.BatchIterator?
    /// The lease of the batch lent in place.
    private var lease: BatchLease?
    private(set) var lent: LentBatch?

    /// Starts a loader of the registered description type `typeName`, made from `json`.
    /// `inPlace` false copies each batch out of its slot; true or nil lends it in place.
    init(
        typeName: String, json: String, configuration: LoaderConfiguration, state: LoaderState?, inPlace: Bool?
    ) throws(ConveyorError) {
        guard let type = DatasetRegistry.type(named: typeName) else {
            throw .invalidArgument("no dataset description type is registered as '\(typeName)'; built in: "
                + "NumpyDataset, SyntheticImageDataset, DirectoryDataset; register your own from a library that "
                + "embeds this interface (conveyor_register_datasets in conveyor.h)")
        }
        (loader, schema) = try LoaderHandle.make(type, json, configuration, state)
        fieldCount = schema.fields.count
        copier = inPlace == false ? BatchCopier(schema: schema, batchSize: max(1, configuration.batchSize)) : nil
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
        lease = nil
        lent = nil
        batches = loader.makeBatchIterator()
    }

    /// Told each field's position and bytes of a batch as it is lent (while
    /// the lease is still at hand: read later, through the stored lease,
    /// they cost more).
    typealias FieldWriter = (_ field: Int, _ bytes: UnsafeRawBufferPointer) -> Void

    /// The next batch, lent until `release` or the next call, waiting up to
    /// the configuration's `batchTimeout`; nil at the end. `write` is told
    /// where its fields are.
    func next(writingFields write: FieldWriter = { _, _ in }) throws(ConveyorError) -> LentBatch? {
        guard var iterator = batches else {
            throw .invalidArgument("no iteration is going: call conveyor_loader_begin_epoch first")
        }
        release()
        batches = nil  // an error or the end ends the iteration
        do {
            if let copier {
                guard let copied = try iterator.next(inPlace: { view in try copier.copy(view) }) else { return nil }
                lent = copied
                for (field, bytes) in copied.fields.enumerated() { write(field, bytes) }
            } else {
                guard let next = try iterator.nextLease() else { return nil }
                lend(next, writingFields: write)
            }
        } catch {
            throw error as? ConveyorError ?? .sourceFailed(index: nil, worker: nil, message: "\(error)")
        }
        batches = iterator
        return lent
    }

    /// The next batch as `next(writingFields:)` lends it, taken at once when
    /// a worker process already wrote it; otherwise `beforeWait` is called,
    /// then the batch waited for as `next` waits, then `afterWait` (whatever
    /// the wait's outcome).
    func next(
        writingFields write: FieldWriter, beforeWait: () -> Void, afterWait: () -> Void
    ) throws(ConveyorError) -> LentBatch? {
        if copier == nil, var iterator = batches {
            release()
            batches = nil  // an error ends the iteration
            if let ready = try iterator.nextLeaseIfReady() {
                lend(ready, writingFields: write)
                batches = iterator
                return lent
            }
            batches = iterator
            if iterator.isFinished { return try next(writingFields: write) }
        }
        beforeWait()
        defer { afterWait() }
        return try next(writingFields: write)
    }

    /// Keeps `lease` (the batch lent in place), telling `write` where its fields are.
    private func lend(_ lease: consuming BatchLease, writingFields write: FieldWriter) {
        lent = LentBatch(lending: lease.view)
        lease.view.forEachField(write)
        self.lease = consume lease
    }

    /// Gives the lent batch back (its slot returns to its worker).
    func release() {
        lent = nil
        lease = nil
    }

    /// The lent batch's samples' dataset indices.
    func lentIndices() throws(ConveyorError) -> [Int] {
        let lent = try lentBatch()
        guard let indices = lease?.view.indices else { return lent.indices }
        return Array(indices)
    }

    /// The rows each sample of the lent batch uses in field number `field`.
    func lentRows(of field: Int) throws(ConveyorError) -> [Int] {
        let lent = try lentBatch()
        guard schema.fields.indices.contains(field) else {
            throw .invalidArgument("field \(field) does not exist; the batch has \(schema.fields.count) fields")
        }
        if let rows = try? lease?.view.rows(of: schema.fields[field].name) { return rows }
        return lent.rows.indices.contains(field) ? lent.rows[field] : []
    }

    /// The batch lent to the caller.
    private func lentBatch() throws(ConveyorError) -> LentBatch {
        guard let lent else { throw .invalidArgument("no batch is lent: call conveyor_loader_next first") }
        return lent
    }

    /// Where the loader is for the C caller: a lent batch counts as delivered
    /// (the caller has it), so a resume starts after it.
    var state: LoaderState {
        let state = loader.state
        guard let lent else { return state }
        return LoaderState(seed: state.seed, epoch: lent.epoch, nextBatch: lent.index + 1)
    }

    func close() {
        release()
        batches = nil
        loader.stop()
    }
}

/// `conveyor_loader_describe`'s answer.
struct LoaderDescription: Encodable {
    var schema: SchemaDocument
    var datasetCount: Int
    var workerProcessIDs: [Int32]
    var state: LoaderState
}

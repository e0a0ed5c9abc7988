import Conveyor
import ConveyorCABI

// The C interface's data loaders (include/conveyor.h).

/// `conveyor_loader_start`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_start")
public func conveyorLoaderStart(
    _ datasetType: UnsafePointer<CChar>?, _ datasetJSON: UnsafePointer<CChar>?,
    _ configurationJSON: UnsafePointer<CChar>?, _ stateJSON: UnsafePointer<CChar>?,
    _ loader: UnsafeMutablePointer<UInt64>?, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let out = try required(loader, "loader")
        let request = try CText.decode(LoaderRequest.self, configurationJSON, "configuration_json")
        let configuration = try request.configuration()
        let state = try stateJSON.map { (text) throws(ConveyorError) in try CText.decode(LoaderState.self, text, "state_json") }
        let handle = try LoaderHandle(
            typeName: CText.string(datasetType, "dataset_type"), json: CText.string(datasetJSON, "dataset_json"),
            configuration: configuration, state: state, inPlace: request.inPlace)
        out.pointee = Handles.add(handle)
    }
}

/// `conveyor_loader_describe`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_describe")
public func conveyorLoaderDescribe(_ loader: UInt64, _ json: CJSON, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let handle = try Handles.get(loader, as: LoaderHandle.self)
        try CText.give(LoaderDescription(
            schema: SchemaDocument(handle.schema), datasetCount: handle.loader.datasetCount,
            workerProcessIDs: handle.loader.workerProcessIDs, state: handle.state), json)
    }
}

/// `conveyor_loader_begin_epoch`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_begin_epoch")
public func conveyorLoaderBeginEpoch(_ loader: UInt64, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try Handles.get(loader, as: LoaderHandle.self).beginEpoch() }
}

/// `conveyor_loader_next`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_next")
public func conveyorLoaderNext(
    _ loader: UInt64, _ timeoutSeconds: Double, _ fieldCount: Int32,
    _ fields: UnsafeMutablePointer<UnsafeRawPointer?>?, _ byteCounts: UnsafeMutablePointer<UInt64>?,
    _ batch: UnsafeMutablePointer<Int64>?, _ hasBatch: UnsafeMutablePointer<Int32>?, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        let handle = try Handles.get(loader, as: LoaderHandle.self)
        try checkFieldCount(fieldCount, handle.schema)
        let fields = try required(fields, "fields"), byteCounts = try required(byteCounts, "byte_counts")
        let batch = try required(batch, "batch"), hasBatch = try required(hasBatch, "has_batch")
        guard let lent = try handle.next(writingFields: { store($0, $1, in: fields, byteCounts) }) else {
            hasBatch.pointee = 0
            return
        }
        batch[0] = Int64(lent.epoch)
        batch[1] = Int64(lent.index)
        batch[2] = Int64(lent.count)
        hasBatch.pointee = 1
    }
}

/// `conveyor_loader_next_batch`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_next_batch")
public func conveyorLoaderNextBatch(_ batch: UnsafeMutablePointer<conveyor_batch>?) -> Int32 {
    lendNextBatch(batch) { (handle, write) throws(ConveyorError) in try handle.next(writingFields: write) }
}

/// `conveyor_loader_next_batch_hooked`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_next_batch_hooked")
public func conveyorLoaderNextBatchHooked(
    _ batch: UnsafeMutablePointer<conveyor_batch>?, _ hooks: UnsafePointer<conveyor_wait_hooks>?
) -> Int32 {
    guard let hooks = hooks?.pointee else { return conveyorLoaderNextBatch(batch) }
    return lendNextBatch(batch) { (handle, write) throws(ConveyorError) in
        try handle.next(
            writingFields: write, beforeWait: { hooks.before_wait?(hooks.context) },
            afterWait: { hooks.after_wait?(hooks.context) })
    }
}

/// Lends the batch `next` gives into `batch`, as conveyor_loader_next_batch
/// does: `next` is given the handle and what writes the fields' places.
private func lendNextBatch(
    _ batch: UnsafeMutablePointer<conveyor_batch>?,
    _ next: (LoaderHandle, LoaderHandle.FieldWriter) throws(ConveyorError) -> LentBatch?
) -> Int32 {
    guard let batch else { return ConveyorError.invalidArgument("batch is NULL").abiCode }
    return abiCall(batch.pointee.error) { () throws(ConveyorError) in
        let handle = try Handles.get(batch.pointee.loader, as: LoaderHandle.self)
        try checkFieldCount(batch.pointee.field_count, handle.fieldCount)
        let fields = try required(batch.pointee.fields, "fields"), byteCounts = try required(batch.pointee.byte_counts, "byte_counts")
        guard let lent = try next(handle, { store($0, $1, in: fields, byteCounts) }) else {
            batch.pointee.samples = 0
            return
        }
        batch.pointee.epoch = Int64(lent.epoch)
        batch.pointee.index = Int64(lent.index)
        batch.pointee.samples = Int64(lent.count)
    }
}

/// Stores where field `field` of a lent batch lies and its size in the caller's arrays.
private func store(
    _ field: Int, _ bytes: UnsafeRawBufferPointer, in fields: UnsafeMutablePointer<UnsafeRawPointer?>,
    _ byteCounts: UnsafeMutablePointer<UInt64>
) {
    fields[field] = bytes.baseAddress
    byteCounts[field] = UInt64(bytes.count)
}

/// `conveyor_loader_rows`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_rows")
public func conveyorLoaderRows(
    _ loader: UInt64, _ field: Int32, _ rows: UnsafeMutablePointer<Int64>?, _ capacity: Int64, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        try give(Handles.get(loader, as: LoaderHandle.self).lentRows(of: Int(field)), to: rows, capacity: capacity)
    }
}

/// `conveyor_loader_indices`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_indices")
public func conveyorLoaderIndices(
    _ loader: UInt64, _ indices: UnsafeMutablePointer<Int64>?, _ capacity: Int64, _ error: CError
) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        try give(Handles.get(loader, as: LoaderHandle.self).lentIndices(), to: indices, capacity: capacity)
    }
}

/// Copies `values` into the caller's array of `capacity` elements.
private func give(_ values: [Int], to array: UnsafeMutablePointer<Int64>?, capacity: Int64) throws(ConveyorError) {
    guard capacity >= values.count else {
        throw .invalidArgument("capacity \(capacity) is less than the batch's \(values.count) samples")
    }
    let array = try required(array, "the output array")
    for (index, value) in values.enumerated() { array[index] = Int64(value) }
}

/// `conveyor_loader_release`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_release")
public func conveyorLoaderRelease(_ loader: UInt64, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try Handles.get(loader, as: LoaderHandle.self).release() }
}

/// `conveyor_loader_state`, as include/conveyor.h documents it.
@_cdecl("conveyor_loader_state")
public func conveyorLoaderState(_ loader: UInt64, _ json: CJSON, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in try CText.give(Handles.get(loader, as: LoaderHandle.self).state, json) }
}

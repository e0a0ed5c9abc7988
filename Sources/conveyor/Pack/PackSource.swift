import ArgumentParser
import Conveyor
import Foundation

/// What `conveyor pack` reads: a directory's files grouped by key, or the
/// rows of .npy files (through `NumpyDataset`).
enum PackSource {
    /// Keys in order, each with its files' relative paths.
    case files(root: String, samples: [(key: String, paths: [String])])
    /// The rows of .npy files as one dataset, a field per file stem.
    case rows(NumpyDataset, fields: [String])

    /// The files below `root`, grouped by key.
    static func directory(_ root: String) throws -> PackSource {
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw ValidationError("cannot list \(root)")
        }
        var groups: [String: [String]] = [:]
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue,
                let (key, _) = TarSampleWriter.keyAndExtension(of: relative)
            else { continue }
            groups[key, default: []].append(relative)
        }
        guard !groups.isEmpty else { throw ValidationError("\(root) has no file with an extension to pack") }
        return .files(root: root, samples: groups.keys.sorted().map { ($0, groups[$0]!.sorted()) })
    }

    /// The .npy files at `paths` as columns named by their stems.
    static func numpy(_ paths: [String]) throws -> PackSource {
        var columns: [(field: String, path: String)] = []
        for path in paths {
            guard path.hasSuffix(".npy") else { throw ValidationError("\(path) is neither a directory nor a .npy file") }
            columns.append((URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent, path))
        }
        var description = NumpyDataset.Description(path: columns[0].path, field: columns[0].field)
        description.columns = columns.map { NumpyDataset.Description.Column(field: $0.field, path: $0.path) }
        let dataset = try description.makeDataset()
        return .rows(dataset, fields: columns.map(\.field))
    }

    /// The number of samples.
    var count: Int {
        switch self {
        case let .files(_, samples): samples.count
        case let .rows(dataset, _): dataset.count
        }
    }

    /// Sample `sample`'s key.
    func key(_ sample: Int) -> String {
        switch self {
        case let .files(_, samples): samples[sample].key
        case .rows: String(format: "%08d", sample)
        }
    }

    /// Sample `sample`'s files: extension and bytes.
    func files(_ sample: Int) throws -> [(extension: String, bytes: [UInt8])] {
        switch self {
        case let .files(root, samples):
            return try samples[sample].paths.map { relative in
                let data = try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative))
                return (TarSampleWriter.keyAndExtension(of: relative)!.extension, [UInt8](data))
            }
        case let .rows(dataset, fields):
            let row = try dataset.sample(at: sample)
            return try fields.map { field in (field + ".npy", try NpyRow.bytes(of: row[field]!)) }
        }
    }
}

/// One tensor as the bytes of a .npy file (version 1.0, little-endian, C order).
enum NpyRow {
    static func bytes(of tensor: Tensor) throws -> [UInt8] {
        let descr: String
        switch tensor.dtype {
        case .uint8: descr = "|u1"
        case .int8: descr = "|i1"
        case .int16: descr = "<i2"
        case .uint16: descr = "<u2"
        case .int32: descr = "<i4"
        case .uint32: descr = "<u4"
        case .int64: descr = "<i8"
        case .uint64: descr = "<u8"
        case .float16: descr = "<f2"
        case .float32: descr = "<f4"
        case .float64: descr = "<f8"
        }
        let shape = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(header.utf8.count)
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8)
        tensor.withUnsafeBytes { out += $0 }
        return out
    }
}

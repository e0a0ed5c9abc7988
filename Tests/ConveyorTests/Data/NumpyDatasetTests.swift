import Foundation
import Testing
@testable import Conveyor

@Suite struct NumpyDatasetTests {
    /// Files written by numpy itself, in every supported dtype and format version.
    @Test func readsFilesWrittenByNumpy() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let status = try runPython("""
            import numpy as np
            d = '\(directory.path)'
            for code in ['u1', 'i1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8']:
                np.save(f'{d}/{code}.npy', (np.arange(24) % 100).reshape(4, 3, 2).astype('<' + code))
            a = np.arange(6, dtype='<f4').reshape(3, 2)
            for version in [(1, 0), (2, 0), (3, 0)]:
                with open(f'{d}/v{version[0]}.npy', 'wb') as f:
                    np.lib.format.write_array(f, a, version=version)
            np.save(f'{d}/vector.npy', np.array([5, 6, 7], dtype='<i8'))
            """)
        try #require(status == 0, "python3 with numpy is needed")
        let codes: [(String, DType)] = [
            ("u1", .uint8), ("i1", .int8), ("i2", .int16), ("u2", .uint16), ("i4", .int32), ("u4", .uint32),
            ("i8", .int64), ("u8", .uint64), ("f2", .float16), ("f4", .float32), ("f8", .float64),
        ]
        for (code, dtype) in codes {
            let dataset = try NumpyDataset(path: directory.path + "/\(code).npy", field: "x")
            #expect(dataset.header.dtype == dtype)
            #expect(dataset.count == 4)
            #expect(dataset.schema == (try Schema([Field("x", dtype, shape: [3, 2])])))
            let row = try #require(try dataset.sample(at: 2)["x"])
            #expect(row.shape == [3, 2])
            #expect(row.bytes.count == 6 * dtype.size)
        }
        let floats = try NumpyDataset(path: directory.path + "/f4.npy")
        #expect(try floats.sample(at: 3)["data"]?.scalars(as: Float.self) == [18, 19, 20, 21, 22, 23])
        let halves = try NumpyDataset(path: directory.path + "/f2.npy")
        #expect(try halves.sample(at: 1)["data"]?.scalars(as: Float16.self) == [6, 7, 8, 9, 10, 11])
        for version in 1...3 {
            let dataset = try NumpyDataset(path: directory.path + "/v\(version).npy")
            #expect(try dataset.sample(at: 2)["data"]?.scalars(as: Float.self) == [4, 5], "format version \(version)")
        }
        let vector = try NumpyDataset(path: directory.path + "/vector.npy")
        #expect(vector.schema.fields[0].shape == [])
        #expect(try vector.sample(at: 1)["data"]?.scalar(as: Int64.self) == 6)
        #expect(throws: ConveyorError.self) { try vector.sample(at: 3) }
    }

    /// A v1 file made by hand: magic, version, header length, header text, data.
    static func npy(header: String, data: [UInt8], major: UInt8 = 1) -> [UInt8] {
        var text = Array(header.utf8)
        let prefix = major == 1 ? 10 : 12
        while (prefix + text.count + 1) % 64 != 0 { text.append(0x20) }
        text.append(0x0A)
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
        if major == 1 {
            bytes += [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
        } else {
            bytes += [UInt8(text.count & 0xFF), UInt8(text.count >> 8 & 0xFF), 0, 0]
        }
        return bytes + text + data
    }

    @Test func handWrittenFileReads() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let data: [UInt8] = [1, 0, 2, 0, 3, 0, 4, 0]
        try directory.write(Self.npy(header: "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 2), }", data: data), to: "a.npy")
        let dataset = try NumpyDataset(path: directory.path + "/a.npy")
        #expect(try dataset.sample(at: 1)["data"]?.scalars(as: Int16.self) == [3, 4])
    }

    static let badFiles: [(name: String, bytes: [UInt8], problem: String)] = [
        ("magic", Array("not numpy at all".utf8), "does not start with"),
        ("version", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0], major: 9), "version 9"),
        ("short-header", Array(npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: []).prefix(30)), "truncated"),
        ("not-a-dict", npy(header: "['descr', '<f4']", data: []), "not a valid Python dictionary"),
        ("no-shape", npy(header: "{'descr': '<f4', 'fortran_order': False, }", data: []), "no 'shape'"),
        ("no-descr", npy(header: "{'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]), "no 'descr'"),
        ("fortran", npy(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }", data: [0, 0, 0, 0]), "Fortran order"),
        ("complex", npy(header: "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data: [UInt8](repeating: 0, count: 8)), "not supported"),
        ("big-endian", npy(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]), "big-endian"),
        ("structured", npy(header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]), "structured"),
        ("truncated-data", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: [0, 0, 0, 0]), "truncated"),
        ("zero-d", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data: [0, 0, 0, 0]), "0-dimensional"),
        ("bad-shape", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (x,), }", data: []), "not an integer"),
    ]

    @Test(arguments: badFiles.indices)
    func badFileIsAClearError(case index: Int) throws {
        let bad = Self.badFiles[index]
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write(bad.bytes, to: bad.name + ".npy")
        let path = directory.path + "/" + bad.name + ".npy"
        let error = #expect(throws: ConveyorError.self) { try NumpyDataset(path: path) }
        guard case let .invalidFile(errorPath, problem)? = error else {
            Issue.record("\(bad.name): \(String(describing: error)) is not invalidFile")
            return
        }
        #expect(errorPath == path)
        #expect(problem.contains(bad.problem), "\(bad.name): \(problem)")
    }

    @Test func missingFileNamesThePath() {
        #expect {
            try NumpyDataset(path: "/nonexistent/conveyor.npy")
        } throws: { error in
            "\(error)".contains("/nonexistent/conveyor.npy")
        }
    }
}

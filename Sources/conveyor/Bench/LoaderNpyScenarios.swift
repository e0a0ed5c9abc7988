import Conveyor
import Foundation

extension BenchCatalog {
    /// The data loader's own overhead at memory speed: two .npy files as one
    /// dataset, through the batch path (`loader-npy`) and through the
    /// per-sample path of a transform (`loader-npy-map`).
    static var loaderNpyScenarios: [BenchScenario] {
        [
            BenchScenario(
                name: "loader-npy",
                summary: "60,000 u8 28×28 images + i64 labels in two .npy files as one dataset, shuffled, batches of 64, "
                    + "the epoch after a warm one: inline, 2 threads, 1 and 2 processes in place, 2 processes copied; "
                    + "PyTorch's DataLoader on the same files when torch is importable"
            ) { quick in
                let files = try NpyBenchFiles()
                defer { files.remove() }
                var rows: [BenchRow] = []
                let runs: [(WorkerBackend, Bool)] = [
                    (.inline, false), (.threads(2), false), (.processes(1), true), (.processes(2), true),
                    (.processes(2), false),
                ]
                for (workers, inPlace) in runs {
                    rows.append(try await BenchSupport.best(quick: quick) {
                        try LoaderNpyBench.epoch(files, scenario: "loader-npy", workers: workers, inPlace: inPlace,
                                                 perSample: false)
                    })
                }
                noteSpeedUp(of: &rows[3], over: rows[2], "1 process")
                rows += LoaderNpyBench.pytorch(files)
                return rows
            },
            BenchScenario(
                name: "loader-npy-in-place",
                summary: "loader-npy's 2-process in-place row alone: one loader, the fastest of 5 epochs after a warm "
                    + "one, as `python -m conveyor.bench torch-npy` measures conveyor.torch, pair by pair"
            ) { _ in
                let files = try NpyBenchFiles()
                defer { files.remove() }
                return [try LoaderNpyBench.epoch(files, scenario: "loader-npy-in-place", workers: .processes(2),
                                                 inPlace: true, perSample: false, timed: 5)]
            },
            BenchScenario(
                name: "loader-npy-map",
                summary: "loader-npy's files through the per-sample path (a Sample per sample, as a `.map` transform "
                    + "or a dataset without a batch path makes): inline, 2 threads, 1 and 2 processes in place"
            ) { quick in
                let files = try NpyBenchFiles()
                defer { files.remove() }
                var rows: [BenchRow] = []
                for workers in [WorkerBackend.inline, .threads(2), .processes(1), .processes(2)] {
                    rows.append(try await BenchSupport.best(quick: quick) {
                        try LoaderNpyBench.epoch(files, scenario: "loader-npy-map", workers: workers, inPlace: true,
                                                 perSample: true)
                    })
                }
                noteSpeedUp(of: &rows[3], over: rows[2], "1 process")
                return rows
            },
        ]
    }
}

/// The two files of loader-npy, written into a temporary directory: image
/// `i` holds bytes `(i + j) mod 256` (j = 0..<784), label `i` is `i`.
struct NpyBenchFiles: Sendable {
    static let count = 60_000
    static let imageBytes = 28 * 28

    let directory: String
    var images: String { directory + "/images.npy" }
    var labels: String { directory + "/labels.npy" }

    init() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/conveyor-npy-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw ConveyorError.unavailable("mkdtemp failed (errno \(errno))") }
        directory = String(cString: made)
        let count = NpyBenchFiles.count, size = NpyBenchFiles.imageBytes
        var pixels = [UInt8](repeating: 0, count: count * size)
        for index in 0..<count {
            for byte in 0..<size { pixels[index * size + byte] = UInt8(truncatingIfNeeded: index + byte) }
        }
        try NpyBenchFiles.write(descr: "|u1", shape: "(\(count), 28, 28)", data: pixels, to: images)
        let numbers = (0..<count).map { Int64($0) }
        try numbers.withUnsafeBytes { bytes in
            try NpyBenchFiles.write(descr: "<i8", shape: "(\(count),)", data: Array(bytes), to: labels)
        }
    }

    /// A version 1.0 .npy file: magic, version, header length, the header
    /// padded to 64 bytes, the data.
    static func write(descr: String, shape: String, data: [UInt8], to path: String) throws {
        var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        let bytes = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
            + header + data
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A dataset over loader-npy's files that has only the per-sample path: each
/// sample a `Sample` of two tensors, written through the schema by name, as
/// a dataset that returns samples (or a `.map` transform) is. A worker
/// process makes it from its description.
struct PerSampleNpyDataset: SchemaDataset {
    let base: NumpyDataset

    var count: Int { base.count }
    var schema: Schema { base.schema }

    func sample(at index: Int) throws -> Sample {
        try base.sample(at: index)
    }

    /// Registered with the bootstrap under "PerSampleNpy".
    struct Description: DatasetDescription {
        var images: String
        var labels: String

        static let typeName = "PerSampleNpy"

        func makeDataset() throws -> PerSampleNpyDataset {
            PerSampleNpyDataset(base: try NumpyDataset(columns: ["image": images, "label": labels]))
        }
    }
}

/// The consumer side of loader-npy.
enum LoaderNpyBench {
    /// The fastest of `timed` epochs (after a warm one) of a fresh loader over `files`.
    static func epoch(
        _ files: NpyBenchFiles, scenario: String, workers: WorkerBackend, inPlace: Bool, perSample: Bool,
        timed: Int = 1
    ) throws -> BenchRow {
        let configuration = LoaderConfiguration(
            batchSize: 64, sampler: .shuffled, workers: workers, prefetch: 4, seed: 11, batchTimeout: .seconds(60),
            label: "bench")
        let loader: DataLoader<TensorBatch>
        if perSample {
            let description = PerSampleNpyDataset.Description(images: files.images, labels: files.labels)
            if case .processes = workers {
                loader = try DataLoader(describedBy: description, configuration)
            } else {
                loader = try DataLoader(collating: description.makeDataset(), configuration)
            }
        } else {
            loader = try DataLoader(
                describedBy: NumpyDataset.Description(columns: ["image": files.images, "label": files.labels]),
                configuration)
        }
        defer { loader.stop() }
        _ = try drain(loader, inPlace: inPlace)  // the warm epoch: workers started, files in the page cache
        var worst: DeliveryCheck?, seconds = Double.infinity
        for _ in 0..<max(1, timed) {
            let start = BenchSupport.now()
            let epochCheck = try drain(loader, inPlace: inPlace)
            seconds = min(seconds, BenchSupport.now() - start)
            // The row's faults are the worst epoch's, whichever was fastest.
            let faults = { (check: DeliveryCheck) in check.corrupt + check.missing + check.duplicated }
            if worst.map({ faults(epochCheck) > faults($0) }) ?? true { worst = epochCheck }
        }
        let check = worst ?? DeliveryCheck(items: NpyBenchFiles.count)
        let how = isProcesses(workers) ? (inPlace ? ", in place" : ", copied") : ""
        let path = perSample ? "per-sample" : "batch path"
        var row = BenchRow(
            scenario: scenario, impl: "conveyor DataLoader (\(BenchCatalog.workersLabel(workers))\(how), \(path))",
            items: NpyBenchFiles.count, itemBytes: NpyBenchFiles.imageBytes + 8, workers: workers.workerCount,
            seconds: seconds, corrupt: check.corrupt, missing: check.missing, duplicated: check.duplicated)
        if let stats = loader.epochHistory.last {
            let busy = stats.workerBusyShare.map { String(Int(($0 * 100).rounded())) }.joined(separator: ", ")
            row.note = "stall \(Int((stats.dataStallShare * 100).rounded()))%"
                + (busy.isEmpty ? "" : "; workers busy [\(busy)]%")
        }
        return row
    }

    private static func isProcesses(_ workers: WorkerBackend) -> Bool {
        if case .processes = workers { return true }
        return false
    }

    /// Iterates one epoch, checking each sample: its label is its index and
    /// its image's first and last bytes are the file's.
    static func drain(_ loader: DataLoader<TensorBatch>, inPlace: Bool) throws -> DeliveryCheck {
        var check = DeliveryCheck(items: NpyBenchFiles.count)
        var batches = loader.makeBatchIterator()
        if inPlace {
            while try batches.next(inPlace: { (batch: borrowing BatchView) in
                try batch.withUnsafeBytes(of: "image") { images in
                    try batch.withUnsafeBufferPointer(of: "label", as: Int64.self) { labels in
                        record(images, labels, batch.indices, into: &check)
                    }
                }
            }) != nil {}
        } else {
            while let batch = try batches.next() {
                batch.tensors[0].withUnsafeBytes { images in
                    batch.tensors[1].withUnsafeBytes { labels in
                        record(images, labels.assumingMemoryBound(to: Int64.self), batch.indices[...], into: &check)
                    }
                }
            }
        }
        return check
    }

    private static func record(
        _ images: UnsafeRawBufferPointer, _ labels: UnsafeBufferPointer<Int64>, _ indices: ArraySlice<Int>,
        into check: inout DeliveryCheck
    ) {
        let size = NpyBenchFiles.imageBytes
        for (position, index) in indices.enumerated() {
            let label = Int(labels[position])
            let intact = label == index && images[position * size] == UInt8(truncatingIfNeeded: index)
                && images[position * size + size - 1] == UInt8(truncatingIfNeeded: index + size - 1)
            check.record(index: label, intact: intact)
        }
    }

    /// PyTorch's DataLoader on the same files (0 and 2 workers), by the
    /// script Tests/Comparisons/torch_loader_npy.py, when python3 can import
    /// torch; no rows otherwise.
    static func pytorch(_ files: NpyBenchFiles) -> [BenchRow] {
        ComparisonScript.rows("torch_loader_npy.py", [files.directory])
    }
}

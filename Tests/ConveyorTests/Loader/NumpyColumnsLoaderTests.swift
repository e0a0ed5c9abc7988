import Testing
@testable import Conveyor

extension SharedRingTests.ProcessLoaderTests {
    /// Two .npy files as one dataset, through every backend: the batch path
    /// gathers the same batches inline, on threads and in worker processes
    /// (read in place and copied out).
    @Test func numpyColumnsGiveTheSameBatchesOnEveryBackend() throws {
        try expectNoLeaks {
            let directory = try BatchPathTests.twoColumns()
            defer { directory.remove() }
            let description = NumpyDataset.Description(columns: ["x": directory.path + "/x.npy", "y": directory.path + "/y.npy"])
            var results: [[[Int64]]] = []
            for workers in [WorkerBackend.inline, .threads(2), .processes(2)] {
                let loader = try DataLoader(describedBy: description, Self.configuration(workers, batchSize: 2))
                defer { loader.stop() }
                var epochs: [[Int64]] = []
                for _ in 0..<2 {
                    var values: [Int64] = []
                    var batches = loader.makeBatchIterator()
                    while let batch = try batches.next() {
                        let x = try batch["x"]!.scalars(as: Int32.self)
                        let y = try batch["y"]!.scalars(as: Int64.self)
                        #expect(batch.indices.map { Int64(100 + $0) } == y)
                        #expect(batch.indices.flatMap { [Int32(2 * $0), Int32(2 * $0 + 1)] } == x)
                        values += y
                    }
                    epochs.append(values)
                }
                #expect(Set(epochs[0]) == Set(100...104))
                results.append(epochs)
                if case .processes = workers {
                    var inPlace: [Int64] = []
                    var batches = loader.makeBatchIterator()
                    while let labels = try batches.next(inPlace: { batch in
                        try batch.withUnsafeBufferPointer(of: "y", as: Int64.self) { Array($0) }
                    }) {
                        inPlace += labels
                    }
                    #expect(Set(inPlace) == Set(100...104))
                }
            }
            #expect(results[1] == results[0])
            #expect(results[2] == results[0])
        }
    }
}

import Testing
@testable import Conveyor

/// Values users persist or compare across versions: the dtype codes written
/// into every segment, the random stream behind every augmentation, the
/// shuffle order and the batch plan that a saved `LoaderState` resumes into.
/// A failure here means a release would change them: make that a deliberate,
/// announced break (and a format version bump for the dtype codes), never a
/// side effect.
@Suite struct GoldenValueTests {
    @Test func dtypeCodesArePinned() {
        let codes = Dictionary(uniqueKeysWithValues: DType.allCases.map { ($0, $0.code) })
        #expect(codes == [
            .uint8: 1, .int8: 2, .int16: 3, .uint16: 4, .int32: 5, .uint32: 6,
            .int64: 7, .uint64: 8, .float16: 9, .float32: 10, .float64: 11,
        ])
        #expect(DType.allCases.count == 11)
        for dtype in DType.allCases {
            #expect(DType(code: dtype.code) == dtype)
        }
        #expect(DType(code: 0) == nil)
        #expect(DType(code: 12) == nil)
    }

    @Test func seededRandomStreamIsPinned() {
        var random = SeededRandom(seed: 42, path: [3, 7])
        let stream = (0..<4).map { _ in random.next() }
        #expect(stream == [
            7_364_183_672_141_499_135, 15_162_663_288_812_206_196,
            16_866_728_814_102_297_227, 16_656_299_888_673_921_272,
        ])
        #expect(SeededRandom.derive(seed: 7, path: [1, 2]) == 1_956_857_119_395_430_835)
    }

    @Test func shufflePermutationIsPinned() {
        #expect(Sampler.shuffled.order(datasetCount: 20, seed: 42, epoch: 0)
            == [2, 14, 12, 7, 9, 17, 3, 18, 10, 5, 1, 0, 16, 4, 11, 19, 8, 15, 13, 6])
        #expect(Sampler.shuffled.order(datasetCount: 20, seed: 42, epoch: 1)
            == [18, 6, 2, 16, 0, 9, 14, 1, 3, 13, 19, 15, 8, 4, 17, 5, 12, 11, 10, 7])
    }

    /// One derivation rule for the loader's `SampleContext` and the
    /// `Prefetcher`'s `ItemContext` (epoch 0): an item's stream comes from
    /// (seed, epoch, index), a worker's seed from (seed, epoch, worker).
    @Test func itemRandomnessAndWorkerSeedsArePinned() throws {
        let itemAtEpoch0: [UInt64] = [11_222_245_220_183_603_662, 18_030_034_771_446_356_921, 4_872_307_792_271_357_021]
        let worker1AtEpoch0: UInt64 = 18_263_027_344_357_257_002

        var sample = SampleContext(seed: 42, epoch: 0, worker: 1).random(for: 5)
        #expect((0..<3).map { _ in sample.next() } == itemAtEpoch0)
        #expect(SampleContext(seed: 42, epoch: 0, worker: 1).workerSeed == worker1AtEpoch0)

        var laterEpoch = SampleContext(seed: 42, epoch: 2, worker: 1).random(for: 5)
        #expect((0..<3).map { _ in laterEpoch.next() }
            == [6_805_828_102_706_195_207, 15_237_782_990_225_500_855, 18_372_359_478_420_464_796])
        #expect(SampleContext(seed: 42, epoch: 2, worker: 1).workerSeed == 10_227_574_154_053_463_510)

        struct Made: Sendable {
            let index: Int
            let worker: Int
            let workerSeed: UInt64
            let draws: [UInt64]
        }
        let prefetcher = try Prefetcher(count: 6, workers: 2, seed: 42) { index, context in
            Made(index: index, worker: context.worker, workerSeed: context.workerSeed,
                 draws: (0..<3).map { _ in context.random.next() })
        }
        var made: [Made] = []
        while let item = try prefetcher.next(timeout: .seconds(60)) { made.append(item) }
        #expect(made.map(\.index) == Array(0..<6))
        #expect(made.first { $0.index == 5 }?.draws == itemAtEpoch0)
        let workerOne = made.filter { $0.worker == 1 }
        #expect(!workerOne.isEmpty && workerOne.allSatisfy { $0.workerSeed == worker1AtEpoch0 })
    }

    @Test func batchPlanIsPinned() throws {
        let plan = try BatchPlan(
            sampler: .distributed(rank: 1, worldSize: 3, shuffle: true, remainder: .pad),
            datasetCount: 10, batchSize: 2, dropLast: false, seed: 5, epoch: 2)
        #expect((0..<plan.batchCount).map { Array(plan.indices(ofBatch: $0)) } == [[7, 5], [2, 6]])
    }
}

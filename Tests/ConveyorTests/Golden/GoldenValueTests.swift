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

    @Test func batchPlanIsPinned() throws {
        let plan = try BatchPlan(
            sampler: .distributed(rank: 1, worldSize: 3, shuffle: true, remainder: .pad),
            datasetCount: 10, batchSize: 2, dropLast: false, seed: 5, epoch: 2)
        #expect((0..<plan.batchCount).map { Array(plan.indices(ofBatch: $0)) } == [[7, 5], [2, 6]])
    }
}

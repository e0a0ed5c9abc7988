import Testing
@testable import Conveyor

@Suite struct SamplerTests {
    @Test func sequentialVisitsEveryIndexInOrder() {
        #expect(Sampler.sequential.order(datasetCount: 5, seed: 1, epoch: 3) == [0, 1, 2, 3, 4])
    }

    @Test func shuffledIsAPermutationFixedBySeedAndEpoch() {
        let first = Sampler.shuffled.order(datasetCount: 1000, seed: 7, epoch: 0)
        #expect(first.sorted() == Array(0..<1000))
        #expect(first != Array(0..<1000))
        #expect(Sampler.shuffled.order(datasetCount: 1000, seed: 7, epoch: 0) == first)
        #expect(Sampler.shuffled.order(datasetCount: 1000, seed: 7, epoch: 1) != first, "reshuffled per epoch")
        #expect(Sampler.shuffled.order(datasetCount: 1000, seed: 8, epoch: 0) != first, "depends on the seed")
    }

    @Test(arguments: [DistributedRemainder.pad, .drop], [false, true])
    func distributedSharesAreEqualAndDisjoint(remainder: DistributedRemainder, shuffle: Bool) throws {
        let count = 10, world = 3
        let shares = (0..<world).map {
            Sampler.distributed(rank: $0, worldSize: world, shuffle: shuffle, remainder: remainder)
                .order(datasetCount: count, seed: 5, epoch: 2)
        }
        let expected = remainder == .pad ? 4 : 3
        #expect(shares.allSatisfy { $0.count == expected })
        let all = shares.flatMap { $0 }
        if remainder == .pad {
            #expect(Set(all) == Set(0..<count), "padding covers every index")
            #expect(all.count == 12)
        } else {
            #expect(Set(all).count == 9, "dropping leaves shares disjoint")
        }
        if remainder == .drop {
            #expect(Set(shares[0]).isDisjoint(with: shares[1]))
        }
    }

    @Test func distributedPadsEvenWhenRanksOutnumberSamples() {
        let share = Sampler.distributed(rank: 4, worldSize: 5, shuffle: false, remainder: .pad)
            .order(datasetCount: 2, seed: 0, epoch: 0)
        #expect(share == [0])
    }

    @Test func invalidSamplersAreRejected() {
        #expect(throws: ConveyorError.self) {
            try Sampler.distributed(rank: 3, worldSize: 3, shuffle: false, remainder: .pad).validate(datasetCount: 10)
        }
        #expect(throws: ConveyorError.self) {
            try Sampler.distributed(rank: 0, worldSize: 0, shuffle: false, remainder: .pad).validate(datasetCount: 10)
        }
        #expect(throws: ConveyorError.self) { try Sampler.indices([0, 10]).validate(datasetCount: 10) }
        #expect(throws: Never.self) { try Sampler.indices([9, 0, 9]).validate(datasetCount: 10) }
    }

    @Test func planSplitsIntoBatchesAndDropsTheLastWhenAsked() throws {
        let keep = try BatchPlan(sampler: .sequential, datasetCount: 10, batchSize: 4, dropLast: false, seed: 0, epoch: 0)
        #expect(keep.batchCount == 3)
        #expect(Array(keep.indices(ofBatch: 2)) == [8, 9])
        let drop = try BatchPlan(sampler: .sequential, datasetCount: 10, batchSize: 4, dropLast: true, seed: 0, epoch: 0)
        #expect(drop.batchCount == 2)
        #expect(throws: ConveyorError.invalidArgument("batchSize is 0; pass 1 or more")) {
            try BatchPlan(sampler: .sequential, datasetCount: 10, batchSize: 0, dropLast: false, seed: 0, epoch: 0)
        }
    }
}

import Testing
@testable import Conveyor

@Suite struct ShardOrderTests {
    /// Every sample once per epoch, each batch from one worker's own pieces,
    /// for any worker count, shuffle and buffer.
    @Test(arguments: [1, 2, 3, 5])
    func everySampleOnceAndBatchesStayWithTheirWorker(workers: Int) throws {
        let sizes = [7, 0, 12, 5]
        for (shuffleShards, buffer) in [(false, 0), (true, 0), (true, 6)] {
            let order = ShardOrder(shardSizes: sizes, shuffleShards: shuffleShards, shuffleBuffer: buffer, workers: workers)
            for epoch in 0..<3 {
                let plan = try BatchPlan(sampler: .shards(order), datasetCount: 24, batchSize: 4, dropLast: false, seed: 5, epoch: epoch)
                #expect(plan.order.sorted() == Array(0..<24))
                for batch in 0..<plan.batchCount {
                    let worker = try #require(plan.worker(ofBatch: batch))
                    let mine = Set(order.stream(forWorker: worker, seed: 5, epoch: epoch))
                    #expect(plan.indices(ofBatch: batch).allSatisfy(mine.contains))
                }
            }
        }
    }

    /// Fewer shards than workers: shards are cut so every worker reads.
    @Test func fewerShardsThanWorkersAreSplit() {
        let order = ShardOrder(shardSizes: [10], workers: 3)
        let streams = (0..<3).map { order.stream(forWorker: $0, seed: 0, epoch: 0) }
        #expect(streams == [Array(0..<3), Array(3..<6), Array(6..<10)])
    }

    /// The buffer shuffles within a window, reproducibly, differently per epoch.
    @Test func shuffleBufferIsASeededPermutation() {
        let order = ShardOrder(shardSizes: [100], shuffleBuffer: 10, workers: 1)
        let first = order.emission(streamLength: 100, worker: 0, seed: 1, epoch: 0)
        #expect(first.sorted() == Array(0..<100))
        #expect(first != Array(0..<100))
        #expect(first == order.emission(streamLength: 100, worker: 0, seed: 1, epoch: 0))
        #expect(first != order.emission(streamLength: 100, worker: 0, seed: 1, epoch: 1))
        // A sample leaves at most `buffer − 1` places before it was read.
        for (place, position) in first.enumerated() { #expect(position <= place + 9) }
    }

    /// Round-robin: batch r of each worker, then r + 1; the short batch
    /// closes each worker's share, or is dropped.
    @Test func batchesInterleaveRoundRobin() throws {
        let order = ShardOrder(shardSizes: [5, 3], workers: 2)
        let plan = try BatchPlan(sampler: .shards(order), datasetCount: 8, batchSize: 2, dropLast: false, seed: 0, epoch: 0)
        #expect((0..<plan.batchCount).map { Array(plan.indices(ofBatch: $0)) } == [[0, 1], [5, 6], [2, 3], [7], [4]])
        #expect((0..<plan.batchCount).map { plan.worker(ofBatch: $0)! } == [0, 1, 0, 1, 0])
        let dropping = try BatchPlan(sampler: .shards(order), datasetCount: 8, batchSize: 2, dropLast: true, seed: 0, epoch: 0)
        #expect((0..<dropping.batchCount).map { Array(dropping.indices(ofBatch: $0)) } == [[0, 1], [5, 6], [2, 3]])
    }

    @Test func mismatchedOrdersAreRefused() {
        #expect(throws: ConveyorError.self) {
            try ShardOrder(shardSizes: [3, 4], workers: 1).validate(datasetCount: 8)
        }
        #expect(throws: ConveyorError.self) {
            try LoaderConfiguration(batchSize: 2, sampler: .shards(ShardOrder(shardSizes: [4], workers: 1)), workers: .threads(2))
                .validate(datasetCount: 4)
        }
    }
}

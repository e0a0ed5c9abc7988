import Testing
@testable import Conveyor

/// The one rule of which worker makes which item, without threads or processes.
@Suite struct WorkerAssignmentTests {
    @Test(arguments: [1, 2, 3, 5])
    func everyItemFromTheFirstIsMadeOnceByTheWorkerItIsAssignedTo(workers: Int) {
        for first in [0, 1, 4, 7, 11] {
            let assignment = WorkerAssignment(firstItem: first, itemCount: 11, workerCount: workers)
            var made: [Int] = []
            for worker in 0..<workers {
                let items = assignment.items(ofWorker: worker)
                #expect(items == items.sorted(), "a worker makes its items in order")
                #expect(items.allSatisfy { assignment.worker(ofItem: $0) == worker })
                made += items
            }
            #expect(made.sorted() == Array(first..<11))
        }
    }

    @Test func workerZeroMakesTheFirstItemWhereverTheIterationStarts() {
        let assignment = WorkerAssignment(firstItem: 5, itemCount: 14, workerCount: 3)
        #expect(assignment.worker(ofItem: 5) == 0)
        #expect((5..<14).map(assignment.worker(ofItem:)) == [0, 1, 2, 0, 1, 2, 0, 1, 2])
        #expect(assignment.items(ofWorker: 1) == [6, 9, 12])
        #expect(assignment.items(ofWorker: 2) == [7, 10, 13])
    }

    @Test func ownedItemsGoToTheirOwnersFromTheFirstOn() {
        let owners = [0, 1, 1, 0, 1, 0]
        let assignment = WorkerAssignment(firstItem: 2, itemCount: 6, workerCount: 2, owners: owners)
        #expect(assignment.items(ofWorker: 0) == [3, 5])
        #expect(assignment.items(ofWorker: 1) == [2, 4])
        #expect((2..<6).map(assignment.worker(ofItem:)) == [1, 0, 1, 0])
    }

    @Test func aShardedPlansBatchesFollowThePlansOwners() throws {
        let order = ShardOrder(shardSizes: [7, 0, 12, 5], workers: 2)
        let plan = try BatchPlan(sampler: .shards(order), datasetCount: 24, batchSize: 4, dropLast: false, seed: 5, epoch: 1)
        let assignment = WorkerAssignment(plan: plan, firstBatch: 1, workerCount: 2)
        for batch in 1..<plan.batchCount {
            #expect(assignment.worker(ofItem: batch) == plan.worker(ofBatch: batch))
        }
        #expect(assignment.items(ofWorker: 0).count + assignment.items(ofWorker: 1).count == plan.batchCount - 1)
    }

    @Test func anEmptyIterationGivesNoWorkerAnything() {
        let assignment = WorkerAssignment(firstItem: 4, itemCount: 4, workerCount: 3)
        #expect((0..<3).allSatisfy { assignment.items(ofWorker: $0).isEmpty })
    }

    @Test func productionStopsAfterTheFirstFailureWhichIsDeliveredInItsPlace() {
        var delivered: [Int: Result<Int, ConveyorError>] = [:]
        WorkerProduction.run(
            [0, 3, 6, 9], isStopped: { false },
            make: { item throws(ConveyorError) in
                try ConveyorError.blaming(index: item, worker: 2) {
                    if item == 6 { throw ConveyorError.invalidArgument("no") }
                    return item * 10
                }
            },
            deliver: { item, outcome in
                delivered[item] = outcome
                return true
            })
        #expect(delivered.keys.sorted() == [0, 3, 6])
        #expect(delivered[3] == .success(30))
        #expect(delivered[6] == .failure(.sourceFailed(index: 6, worker: 2, message: ConveyorError.invalidArgument("no").description)))
    }

    @Test func productionEndsWhenStoppedOrWhenTheConsumerSideCloses() {
        var made: [Int] = []
        WorkerProduction.run(
            0..<10, isStopped: { made.count == 3 }, make: { item throws(ConveyorError) in made.append(item); return item },
            deliver: { _, _ in true })
        #expect(made == [0, 1, 2])
        made = []
        WorkerProduction.run(
            0..<10, isStopped: { false }, make: { item throws(ConveyorError) in made.append(item); return item },
            deliver: { item, _ in item < 4 })
        #expect(made == [0, 1, 2, 3, 4], "the item whose delivery failed was the last made")
    }

    @Test func theInnermostBlameWins() {
        let inner = ConveyorError.sourceFailed(index: 3, worker: 1, message: "bad")
        #expect(ConveyorError(blaming: inner, index: 9, worker: 0) == inner)
        struct Plain: Error {}
        #expect(ConveyorError(blaming: Plain(), index: 9, worker: 0) == .sourceFailed(index: 9, worker: 0, message: "Plain()"))
    }
}

/// The consumer's side of an iteration, without threads or processes.
@Suite struct DeliveryCursorTests {
    @Test func orderedTakesEachItemFromItsWorkersLaneThenEnds() {
        var cursor = DeliveryCursor(assignment: WorkerAssignment(firstItem: 4, itemCount: 8, workerCount: 3), delivery: .ordered)
        var taken: [Int] = []
        var lanes: [Int?] = []
        while let item = cursor.upcoming {
            taken.append(item)
            lanes.append(cursor.lane(ofItem: item))
            cursor.delivered()
        }
        #expect(taken == [4, 5, 6, 7])
        #expect(lanes == [0, 1, 2, 0])
        #expect(cursor.isFinished)
        #expect(cursor.deliveredCount == 4)
    }

    @Test func unorderedReadsAnyLaneAndCountsWhatRemains() {
        var cursor = DeliveryCursor(assignment: WorkerAssignment(firstItem: 0, itemCount: 3, workerCount: 2), delivery: .unordered)
        #expect(cursor.lane(ofItem: 1) == nil)
        for _ in 0..<3 { cursor.delivered() }
        #expect(cursor.upcoming == nil)
    }

    @Test func aFailureOrACancelEndsTheIterationAtOnce() {
        var cursor = DeliveryCursor(assignment: WorkerAssignment(firstItem: 0, itemCount: 10, workerCount: 2), delivery: .ordered)
        cursor.delivered()
        #expect(cursor.upcoming == 1)
        cursor.end()
        #expect(cursor.upcoming == nil)
        #expect(cursor.isFinished)
        #expect(cursor.deliveredCount == 1)
    }

    @Test func anEmptyIterationIsOverBeforeItStarts() {
        let cursor = DeliveryCursor(assignment: WorkerAssignment(firstItem: 5, itemCount: 5, workerCount: 2), delivery: .ordered)
        #expect(cursor.isFinished)
        #expect(cursor.upcoming == nil)
    }
}

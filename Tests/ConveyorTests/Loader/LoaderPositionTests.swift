import Testing
@testable import Conveyor

@Suite struct LoaderPositionTests {
    @Test func freshPositionContinuesThenLaterIterationsStartNextEpoch() {
        var position = LoaderPosition(epoch: 2, nextBatch: 5)
        #expect(position.beginIteration() == (2, 5))
        position.delivered(5, ofEpoch: 2, batchCount: 10)
        #expect(position.nextBatch == 6)
        #expect(position.beginIteration() == (3, 0), "an abandoned epoch is not resumed by the next iteration")
    }

    @Test func lastDeliveryMovesToTheNextEpoch() {
        var position = LoaderPosition(epoch: 0, nextBatch: 0)
        _ = position.beginIteration()
        #expect(position.delivered(0, ofEpoch: 0, batchCount: 2) == false)
        #expect(position.delivered(1, ofEpoch: 0, batchCount: 2) == true)
        #expect(position.epoch == 1 && position.nextBatch == 0)
        #expect(position.beginIteration() == (1, 0), "a finished epoch's successor starts fresh")
    }

    @Test func unorderedDeliveriesAdvanceOverTheGaplessPrefix() {
        var position = LoaderPosition(epoch: 0, nextBatch: 0)
        _ = position.beginIteration()
        position.delivered(2, ofEpoch: 0, batchCount: 5)
        position.delivered(1, ofEpoch: 0, batchCount: 5)
        #expect(position.nextBatch == 0)
        position.delivered(0, ofEpoch: 0, batchCount: 5)
        #expect(position.nextBatch == 3)
        position.delivered(1, ofEpoch: 7, batchCount: 5)
        #expect(position.nextBatch == 3, "another epoch's delivery is ignored")
    }
}

import ConveyorTestDatasets
import Testing
@testable import Conveyor

extension SharedRingTests.ProcessLoaderTests {
    /// `nextLease()`: the same batches as `next()`, valid while the lease is
    /// held (also while the next one is), the slot held until the release.
    @Test func leasedBatchesAreTheSameBatchesAndStayValidWhileHeld() throws {
        try expectNoLeaks {
            let dataset = ProbeDataset(count: 29)
            let expected = try Self.collect(DataLoader(describedBy: dataset, Self.configuration(.inline)), epochs: 1)
            for workers in [WorkerBackend.inline, .threads(2), .processes(2)] {
                let loader = try DataLoader(describedBy: dataset, Self.configuration(workers))
                var batches = loader.makeBatchIterator()
                var got: [BatchDigest] = []
                var held: BatchLease? = try batches.nextLease()
                while let lease = held.take() {
                    let digest = BatchDigest(lease.view.copy())
                    held = try batches.nextLease()  // the next one comes while this one is still held
                    #expect(BatchDigest(lease.view.copy()) == digest, "\(workers): batch \(digest.index) changed while leased")
                    let values = try lease.view.withUnsafeBufferPointer(of: "value", as: Int64.self) { Array($0) }
                    #expect(values.enumerated().filter { $0.offset % 2 == 0 }.map { Int($0.element) }
                            == Array(lease.view.indices))
                    got.append(digest)
                    lease.release()
                }
                #expect(got == expected, "\(workers)")
                loader.stop()
            }
        }
    }

    @Test func aLeaseHoldsItsSlotUntilReleased() throws {
        try expectNoLeaks {
            // One worker with two slots: two leases held leave it nowhere to write.
            let loader = try DataLoader(describedBy: ProbeDataset(count: 40),
                                        Self.configuration(.processes(1), batchTimeout: .seconds(5)))
            func drain() throws -> Int {
                var batches = loader.makeBatchIterator()
                var count = 0
                while let lease = try batches.nextLease() {
                    count += lease.view.count
                    lease.release()
                }
                return count
            }
            #expect(try drain() == 40)  // the warm epoch: the worker runs
            var batches = loader.makeBatchIterator()
            guard let first = try batches.nextLease(), let second = try batches.nextLease() else {
                Issue.record("the epoch ended after fewer than two batches")
                return
            }
            #expect([first.view.index, second.view.index] == [0, 1])
            #expect(throws: ConveyorError.self) { _ = try batches.nextLease() }  // both slots are held
            first.release()
            second.release()
            #expect(try drain() == 40)  // released, the slots take the next epoch's batches
            loader.stop()
        }
    }
}

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

    /// `nextLeaseIfReady()`: never waits, never skips or repeats a batch;
    /// with worker processes it lends batches that are there, with the
    /// other backends none; `isFinished` tells "not yet" from the end.
    @Test func leasesIfReadyNeverWaitAndNeverSkip() throws {
        try expectNoLeaks {
            let dataset = ProbeDataset(count: 29)
            let expected = try Self.collect(DataLoader(describedBy: dataset, Self.configuration(.inline)), epochs: 2)
            for workers in [WorkerBackend.inline, .processes(2)] {
                let loader = try DataLoader(describedBy: dataset, Self.configuration(workers))
                var got: [BatchDigest] = []
                for _ in 0..<2 {
                    var batches = loader.makeBatchIterator()
                    var ready = 0
                    while !batches.isFinished {
                        let lease: BatchLease
                        if let now = try batches.nextLeaseIfReady() {
                            ready += 1
                            lease = now
                        } else if let waited = try batches.nextLease() {
                            lease = waited
                        } else {
                            break
                        }
                        got.append(BatchDigest(lease.view.copy()))
                    }
                    #expect(try batches.nextLeaseIfReady() == nil && batches.isFinished)
                    if case .inline = workers { #expect(ready == 0) }
                }
                #expect(got == expected, "\(workers)")
                if case .processes = workers {
                    // Batches the workers made while nobody asked are there at once.
                    var batches = loader.makeBatchIterator()
                    let deadline = ContinuousClock.now + .seconds(30)
                    var lent: BatchLease? = nil
                    while lent == nil, ContinuousClock.now < deadline {
                        lent = try batches.nextLeaseIfReady()
                        if lent == nil { SystemCalls.sleep(nanoseconds: 1_000_000) }
                    }
                    #expect(lent?.view.index == 0)
                }
                loader.stop()
            }
        }
    }
}

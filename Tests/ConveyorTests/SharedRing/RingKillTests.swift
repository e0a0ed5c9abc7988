import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// Producers killed with SIGKILL at random moments, mid-write included,
    /// round after round: every delivered item is checked, nothing committed
    /// goes missing, nothing is delivered twice, no unfinished item is delivered.
    /// `CONVEYOR_KILL_ROUNDS` sets the rounds (default 100).
    @Suite struct RingKillTests {
        static var rounds: Int {
            getenv("CONVEYOR_KILL_ROUNDS").flatMap { Int(String(cString: $0)) } ?? 100
        }

        @Test func producersKilledAtRandomMomentsLoseNothingCommitted() throws {
            let floats = 4096  // 16 KiB of writing per item: plenty of mid-write moments to be killed in
            let perProducer = 150
            var generator = SeededRandom(seed: UInt64(SystemCalls.processID()))
            var totals = (rounds: 0, items: 0, faults: 0, deaths: 0)
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(floats: floats), lanes: 2, slotsPerLane: 4)
                let consumer = try ring.consumer()
                for round in 0..<RingKillTests.rounds {
                    let committedBefore = ring.info.lanes.reduce(0) { $0 + $1.committed }
                    let bases = [round * 2 * perProducer, round * 2 * perProducer + perProducer]
                    let producers = try bases.map { base in
                        try HelperProcess(["produce", "--floats", "\(floats)", "--start", "\(base)",
                                           "--count", "\(perProducer)"], ring: ring)
                    }
                    // Kill each at a random moment: before it attaches, while it writes, or after it is done.
                    let delays = producers.map { _ in UInt32.random(in: 0...40_000, using: &generator) }
                    let killer = TestThread { [producers = producers.map(\.child)] in
                        for (child, delay) in zip(producers, delays).sorted(by: { $0.1 < $1.1 }) {
                            usleep(delay / 2)
                            try? child.kill()
                        }
                    }
                    var checker = ItemChecker()
                    var deaths: [Int32] = []
                    let deadline = ContinuousClock.now + .seconds(60)
                    while ContinuousClock.now < deadline {
                        do {
                            try checker.check(consumer.next(timeout: .milliseconds(20)))
                        } catch let ConveyorError.producerDied(pid, _, status) {
                            #expect(producers.contains { $0.pid == pid }, "a death of pid \(pid) not in this round")
                            #expect(status == "killed by signal 9 (SIGKILL)")
                            deaths.append(pid)
                        } catch ConveyorError.timedOut, ConveyorError.producerStalled {
                            // Done when both have ended, and every lane is empty and free (deaths reported).
                            if producers.allSatisfy({ !$0.child.isRunning }),
                               ring.info.lanes.allSatisfy({ $0.producerPID == nil && $0.depth == 0 }) { break }
                        }
                    }
                    try killer.join()
                    let committed = Int(ring.info.lanes.reduce(0) { $0 + $1.committed } - committedBefore)
                    // What each producer committed is a prefix of its range: no gap, nothing extra.
                    var faults = checker.corrupt + checker.duplicated
                    for base in bases {
                        let mine = checker.seen.filter { $0 >= base && $0 < base + perProducer }
                        if mine != Set(base..<(base + mine.count)) { faults += 1 }
                    }
                    if checker.seen.count != committed { faults += 1 }
                    if Set(deaths).count != deaths.count { faults += 1 }
                    #expect(faults == 0, "round \(round): \(checker), committed \(committed)")
                    totals.rounds += 1
                    totals.items += checker.checked
                    totals.faults += faults
                    totals.deaths += deaths.count
                    if faults > 0 { break }
                }
            }
            print("kill test: rounds \(totals.rounds), items checked \(totals.items), "
                + "producers killed while attached \(totals.deaths), faults \(totals.faults)")
            #expect(totals.faults == 0)
        }
    }
}

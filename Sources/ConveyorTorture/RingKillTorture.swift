import Conveyor
import ConveyorTestDatasets
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Producers killed with SIGKILL at random instants, round after round:
/// before they attach, mid-reserve, mid-write, mid-commit, while a new
/// producer takes over a dead one's lane, and while the ring is reset.
/// Every delivered item is checked whole; nothing is delivered twice;
/// everything committed is delivered (or counted discarded by a reset); a
/// death is reported once, only for a producer that died; every round ends
/// within its deadline (a hang is a fault, and the run goes on with a new ring).
public enum RingKillTorture {
    /// What a round mixes in besides the kills.
    enum Variant: CaseIterable {
        /// Two producers, each killed at a random instant.
        case plain
        /// A producer killed, and at once a new one on its lane, killed in turn or left to finish.
        case takeover
        /// A reset of the ring at a random instant while producers write.
        case reset
    }

    static let floats = 4096  // 16 KiB of writing per item: many mid-write instants to be killed in
    static let perProducer = 60
    static let roundDeadline: Duration = .seconds(30)

    /// Runs rounds until the settings' rounds or budget are spent.
    public static func run(_ settings: TortureSettings) -> TortureReport {
        TortureReport.measuring(.ringKill, settings) { report, random, start in
            var ring: SharedRing?
            var consumer: RingConsumer?
            var nextBase = 0
            var variants: [Variant: Int] = [:]
            while settings.mayContinue(round: report.rounds, since: start) {
                do {
                    if ring == nil {
                        let created = try SharedRing.create(schema: TestItems.schema(floats: floats), lanes: 2, slotsPerLane: 4)
                        ring = created
                        consumer = try created.consumer()
                    }
                    let variant = Variant.allCases[Int(random.next() % UInt64(Variant.allCases.count))]
                    variants[variant, default: 0] += 1
                    let outcome = try round(
                        report.rounds, variant: variant, ring: ring!, consumer: consumer!, base: &nextBase,
                        random: &random, executable: settings.executable)
                    report.itemsChecked += outcome.checked
                    report.kills += outcome.kills
                    for fault in outcome.faults { report.fault("round \(report.rounds) (\(variant)): \(fault)") }
                    if outcome.hung {
                        consumer = nil  // a hung ring is dropped; the next round gets a new one
                        ring = nil
                    }
                } catch {
                    report.fault("round \(report.rounds): \(error)")
                    consumer = nil
                    ring = nil
                }
                report.rounds += 1
                if report.rounds % 500 == 0 { settings.log("ring-kill: \(report.rounds) rounds, \(report.faults.count) faults") }
            }
            consumer = nil
            ring = nil
            report.notes.append("rounds by variant: " + variants.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", "))
        return
        }
    }

    struct RoundOutcome {
        var checked = 0
        var kills = 0
        var faults: [String] = []
        var hung = false
    }

    /// One round: producers spawned on lanes 0 and 1 (and, in a takeover,
    /// a second one on lane 0), killed at random instants; the consumer reads
    /// until every producer ended and every lane is empty and free.
    static func round(
        _ number: Int, variant: Variant, ring: SharedRing, consumer: RingConsumer, base: inout Int,
        random: inout SeededRandom, executable: String
    ) throws -> RoundOutcome {
        var outcome = RoundOutcome()
        let info = ring.info
        let committedBefore = info.lanes.reduce(UInt64(0)) { $0 + $1.committed }
        let discardedBefore = info.lanes.reduce(UInt64(0)) { $0 + $1.discarded }
        var bases = [base, base + perProducer, base + 2 * perProducer]
        base += 3 * perProducer
        func spawn(lane: Int, from first: Int) throws -> TortureChild {
            try TortureChild(executable, role: "produce", [
                "--start", "\(first)", "--count", "\(perProducer)", "--lane", "\(lane)", "--timeout-ms", "20000",
            ], ring: ring)
        }
        let producers = Mutex<[TortureChild]>([try spawn(lane: 0, from: bases[0]), try spawn(lane: 1, from: bases[1])])
        let killed = Mutex<Set<Int32>>([])
        // Helper threads still running: the round waits for them, so nothing of it reaches into the next.
        let pending = Atomic<Int>(0)
        func background(_ body: @escaping @Sendable () -> Void) throws {
            pending.add(1, ordering: .acquiringAndReleasing)
            try startThread {
                body()
                pending.subtract(1, ordering: .acquiringAndReleasing)
            }
        }
        @Sendable func kill(_ victim: ChildProcess, after delay: UInt32) {
            usleep(delay)
            killed.withLock { _ = $0.insert(victim.pid) }
            try? victim.kill()
        }
        // Kill instants: from before the attach to after the last item (a producer lives ~5–30 ms here).
        for child in producers.withLock({ $0.map(\.child) }) {
            let delay = UInt32(random.next() % 30_000)
            try background { kill(child, after: delay) }
        }
        if variant == .takeover {
            // Once the first is dead, a new producer claims lane 0, maybe before the consumer saw the death.
            let first = producers.withLock { $0[0].child }
            // Half the time the successor lives to its end: any death reported for it is then a false one.
            let spared = random.next() % 2 == 0
            let delay = UInt32(random.next() % 30_000)
            let successor = try spawn(lane: 0, from: bases[2])
            try? successor.child.kill(SIGSTOP)  // held until its predecessor is dead
            producers.withLock { $0.append(successor) }
            let victim = successor.child
            try background {
                while first.isRunning { usleep(200) }
                try? victim.kill(SIGCONT)
                if !spared { kill(victim, after: delay) }
            }
        } else {
            bases.removeLast()
        }
        if variant == .reset {
            let delay = UInt32(random.next() % 30_000)
            try background {
                usleep(delay)
                ring.reset()
            }
        }
        var checker = TestItemChecker()
        var deaths: [Int32] = []
        let deadline = ContinuousClock.now + roundDeadline
        let pids = Set(producers.withLock { $0.map(\.pid) })
        while true {
            if ContinuousClock.now > deadline {
                outcome.hung = true
                outcome.faults.append("hang: the round did not end within \(roundDeadline); \(ring.info)")
                break
            }
            do throws(ConveyorError) {
                let lease = try consumer.next(timeout: .milliseconds(20))
                do {
                    try checker.check(lease)
                } catch {
                    outcome.faults.append("an item could not be read: \(error)")
                }
            } catch let .producerDied(pid, _, status) {
                deaths.append(pid)
                let wasKilled = killed.withLock { $0.contains(pid) }
                if !pids.contains(pid) {
                    outcome.faults.append("a death of pid \(pid), not a producer of this round")
                } else if !wasKilled {
                    outcome.faults.append("false death: pid \(pid) was not killed ('\(status)')")
                } else if status != "killed by signal 9 (SIGKILL)" {
                    outcome.faults.append("pid \(pid) reported as '\(status)'")
                }
            } catch .timedOut, .producerStalled {
                if pending.load(ordering: .acquiring) == 0, producers.withLock({ $0.allSatisfy { !$0.child.isRunning } }),
                   ring.info.lanes.allSatisfy({ $0.producerPID == nil && $0.depth == 0 }) { break }
            } catch {
                if case .invalidArgument = error { throw error }
                outcome.faults.append("the consumer got \(error)")
            }
        }
        outcome.checked = checker.checked
        outcome.kills = killed.withLock { $0.count }
        let after = ring.info
        let committed = Int(after.lanes.reduce(UInt64(0)) { $0 + $1.committed } - committedBefore)
        let discarded = Int(after.lanes.reduce(UInt64(0)) { $0 + $1.discarded } - discardedBefore)
        if checker.corrupt > 0 { outcome.faults.append("\(checker.corrupt) items not intact") }
        if checker.duplicated > 0 { outcome.faults.append("\(checker.duplicated) items delivered twice") }
        if checker.seen.count != committed - discarded {
            outcome.faults.append("\(checker.seen.count) delivered, but \(committed) committed and \(discarded) discarded")
        }
        if Set(deaths).count != deaths.count { outcome.faults.append("a death reported twice: \(deaths)") }
        if variant != .reset {
            // Without a reset, what each producer committed is a prefix of its range: no gap.
            for first in bases {
                let mine = checker.seen.filter { $0 >= first && $0 < first + perProducer }
                if mine != Set(first..<(first + mine.count)) { outcome.faults.append("a gap in items \(first)…") }
            }
        }
        if outcome.hung { producers.withLock { for producer in $0 { try? producer.child.kill(); try? producer.child.kill(SIGCONT) } } }
        return outcome
    }
}

/// Starts a detached thread running `body`.
func startThread(_ body: @escaping @Sendable () -> Void) throws {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
        return nil
    }, context)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        throw ConveyorError.systemCall(name: "pthread_create", errno: result)
    }
    pthread_detach(thread)
}

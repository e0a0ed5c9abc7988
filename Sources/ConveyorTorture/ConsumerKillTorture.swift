import Conveyor
import ConveyorTestDatasets
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Consumers killed with SIGKILL. Two kinds of round, alternating:
///
/// - A producer blocked on a full lane whose one consumer is killed gets
///   `.consumerGone` within 1 s of the kill.
/// - Three consumer processes share a ring fed by two producer processes;
///   one is killed at a random instant. No item may be lost or delivered
///   twice, and no producer may stall: an item the dead consumer held goes
///   to a live one (FORMAT.md, *A consumer that dies holding an item*).
/// - Once per run, each way: a consumer killed while it holds a lease, with
///   a live consumer attached before the kill (the blocked producer signals
///   the death) and after it (it adopts the item as it registers).
/// - Once per run: a consumer that attaches after the stream ended (under
///   load one can start that late) ends with nothing instead of waiting.
public enum ConsumerKillTorture {
    static let consumerGoneWithin: Duration = .seconds(1)
    static let roundDeadline: Duration = .seconds(30)

    /// Runs rounds until the settings' rounds or budget are spent.
    public static func run(_ settings: TortureSettings) -> TortureReport {
        TortureReport.measuring(.consumerKill, settings) { report, random, start in
            var slowest: Duration = .zero
            var sharedRounds = 0
            var redelivered = 0
            while settings.mayContinue(round: report.rounds, since: start, minimumRounds: 2) {
                do {
                    if report.rounds % 2 == 0 {
                        let took = try blockedProducerRound(&report, random: &random, executable: settings.executable)
                        slowest = max(slowest, took)
                    } else {
                        sharedRounds += 1
                        if try sharedRingRound(&report, random: &random, executable: settings.executable) {
                            redelivered += 1
                        }
                    }
                } catch {
                    report.fault("round \(report.rounds): \(error)")
                }
                report.rounds += 1
            }
            for survivorFirst in [true, false] {
                leaseHolderKilled(&report, survivorFirst: survivorFirst, executable: settings.executable)
            }
            lateConsumerEnds(&report, executable: settings.executable)
            report.notes.append("consumerGone after a consumer's kill: slowest \(slowest) (promise: within \(consumerGoneWithin))")
            report.notes.append(
                "shared rings, one of 3 consumers killed: \(sharedRounds) rounds, none lost or stalled; in "
                    + "\(redelivered) the dead consumer had recorded an item it never released, which went to a live one")
            return
        }
    }

    /// A producer (a thread here) fills its lane and blocks; the ring's one
    /// consumer (a child) is killed; returns how long `consumerGone` took.
    static func blockedProducerRound(
        _ report: inout TortureReport, random: inout SeededRandom, executable: String
    ) throws -> Duration {
        let ring = try SharedRing.create(schema: TestItems.schema(floats: 16), lanes: 1, slotsPerLane: 2)
        let consumer = try TortureChild(executable, role: "consume-attach", [], ring: ring)
        guard consumer.waitForLine("attached", timeout: .seconds(20)) != nil else {
            report.fault("round \(report.rounds): the consumer did not attach: \(consumer.text)")
            return .zero
        }
        let filled = Atomic<Bool>(false)
        let outcome = Mutex<(ConveyorError?, ContinuousClock.Instant)?>(nil)
        try startThread {
            var error: ConveyorError?
            do throws(ConveyorError) {
                let producer = try ring.producer()
                for k in 0..<2 { try producer.put([RingColumn([Float(k)]), RingColumn([Int32(k)])], timeout: .seconds(5)) }
                filled.store(true, ordering: .releasing)
                _ = try producer.reserve(timeout: .seconds(10))
            } catch let caught {
                error = caught
            }
            outcome.withLock { $0 = (error, .now) }
        }
        let waitStart = ContinuousClock.now
        while !filled.load(ordering: .acquiring), ContinuousClock.now - waitStart < .seconds(10) { usleep(200) }
        usleep(UInt32(2_000 + random.next() % 30_000))  // the producer is asleep in reserve by now
        try consumer.child.kill()
        let killedAt = ContinuousClock.now
        report.kills += 1
        while outcome.withLock({ $0 == nil }), ContinuousClock.now - killedAt < .seconds(15) { usleep(500) }
        guard let (error, at) = outcome.withLock({ $0 }) else {
            report.fault("round \(report.rounds): the blocked producer never returned after its consumer's kill")
            return .seconds(15)
        }
        let took = at - killedAt
        guard case .consumerGone? = error else {
            report.fault("round \(report.rounds): the blocked producer got \(String(describing: error)), not consumerGone")
            return took
        }
        report.itemsChecked += 1
        if took > consumerGoneWithin {
            report.fault("round \(report.rounds): consumerGone came \(took) after the consumer's kill")
        }
        return took
    }

    /// Two producer children, three consumer children recording what they
    /// took, one consumer killed. Returns whether the dead consumer's last
    /// recorded item was also delivered to a live one (it died holding it).
    /// The producers finish their streams, so every live consumer ends at
    /// the end of the stream, even one that attached after the last item
    /// (under load a consumer may start that late: it would otherwise wait
    /// out its 60 s cold-boot wait for a first item).
    static func sharedRingRound(
        _ report: inout TortureReport, random: inout SeededRandom, executable: String
    ) throws -> Bool {
        let perProducer = 400
        let ring = try SharedRing.create(schema: TestItems.schema(floats: 64), lanes: 2, slotsPerLane: 4)
        let consumers = try (0..<3).map { _ in
            try TortureChild(executable, role: "consume-record", ["--idle-ms", "1500"], ring: ring)
        }
        let producers = try (0..<2).map { lane in
            try TortureChild(executable, role: "produce", [
                "--start", "\(lane * perProducer)", "--count", "\(perProducer)", "--lane", "\(lane)",
                "--delay-us", "100", "--timeout-ms", "3000", "--finish",
            ], ring: ring)
        }
        usleep(UInt32(5_000 + random.next() % 60_000))
        let victim = Int(random.next() % 3)
        try consumers[victim].child.kill()
        report.kills += 1
        let deadline = ContinuousClock.now + roundDeadline
        for (index, child) in (producers + consumers).enumerated() {
            let remaining = deadline - ContinuousClock.now
            if (try? child.child.wait(timeout: max(.milliseconds(1), remaining))) == nil {
                let role = index < producers.count
                    ? "a producer (\(child.text.split(separator: "\n").last ?? "no output"))"
                    : "a consumer that had recorded \(records(child).count) items"
                report.fault("round \(report.rounds): pid \(child.pid), \(role), did not end within \(roundDeadline) (hang)")
            }
        }
        var counts: [Int: Int] = [:]
        var corrupt = 0
        for consumer in consumers {
            for k in records(consumer) {
                if k == Int(Int32.min) || k < 0 { corrupt += 1 } else { counts[k, default: 0] += 1 }
            }
        }
        // The victim records an item before releasing it: if it died in between, the item went to a live
        // consumer too (delivered means released). That one item counts once.
        var redelivered = false
        if let last = records(consumers[victim]).last, counts[last] == 2 {
            counts[last] = 1
            redelivered = true
        }
        for producer in producers where producer.text.contains("error:") {
            report.fault("round \(report.rounds): producer pid \(producer.pid) stalled: \(producer.text)")
        }
        let produced = producers.reduce(0) { total, producer in
            total + (producer.text.split(separator: "\n").first { $0.hasPrefix("produced ") }
                .flatMap { Int($0.split(separator: " ")[1]) } ?? 0)
        }
        let committed = ring.info.lanes.reduce(0) { $0 + Int($1.committed) }
        report.itemsChecked += counts.values.reduce(0, +)
        if corrupt > 0 { report.fault("round \(report.rounds): \(corrupt) items not intact") }
        let twice = counts.filter { $0.value > 1 }
        if !twice.isEmpty { report.fault("round \(report.rounds): delivered twice: \(twice.keys.sorted().prefix(10))") }
        let missing = committed - counts.count
        if missing != 0 {
            report.fault("round \(report.rounds): \(missing) committed items never delivered (produced \(produced), "
                + "committed \(committed), delivered \(counts.count))")
        }
        return redelivered
    }

    /// The items a `consume-record` child recorded, in order.
    static func records(_ consumer: TortureChild) -> [Int] {
        let bytes = consumer.bytes
        return stride(from: 0, to: bytes.count - 3, by: 4).map { offset in
            Int(Int32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int32.self) }))
        }
    }

    /// A consumer killed while it holds a lease, beside a live one that
    /// attached before the kill (`survivorFirst`) or after it: the live one
    /// gets every item once, the held one included, and the producer
    /// commits them all (1 lane of 4 slots: it would stall behind the slot).
    static func leaseHolderKilled(_ report: inout TortureReport, survivorFirst: Bool, executable: String) {
        let way = survivorFirst ? "live consumer attached before the kill" : "live consumer attached after the kill"
        do {
            let count = 40
            let ring = try SharedRing.create(schema: TestItems.schema(floats: 16), lanes: 1, slotsPerLane: 4)
            let producer = try TortureChild(executable, role: "produce", [
                "--start", "0", "--count", "\(count)", "--lane", "0", "--timeout-ms", "10000",
            ], ring: ring)
            let holder = try TortureChild(executable, role: "consume-hold", [], ring: ring)
            guard holder.waitForLine("holding", timeout: .seconds(20)) != nil else {
                report.fault("lease holder killed (\(way)): no lease taken: \(holder.text)")
                return
            }
            let arguments = ["--idle-ms", "3000"]
            let early = survivorFirst ? try TortureChild(executable, role: "consume-record", arguments, ring: ring) : nil
            try holder.child.kill()
            report.kills += 1
            let survivor = try early ?? TortureChild(executable, role: "consume-record", arguments, ring: ring)
            _ = try producer.child.wait(timeout: .seconds(30))
            _ = try survivor.child.wait(timeout: .seconds(30))
            let delivered = records(survivor)
            report.itemsChecked += delivered.count
            if producer.text.contains("error:") {
                report.fault("lease holder killed (\(way)): the producer stalled: \(producer.text)")
            }
            if delivered.sorted() != Array(0..<count) {
                report.fault("lease holder killed (\(way)): the live consumer got \(delivered.count) items, "
                    + "\(Set(delivered).count) distinct, of \(count)")
            }
        } catch {
            report.fault("lease holder killed (\(way)): \(error)")
        }
    }

    /// A consumer attached after its ring's stream ended (the producer
    /// finished, every item delivered to another consumer) ends at once with
    /// no item, as a late starter among the shared-ring rounds' consumers must.
    static func lateConsumerEnds(_ report: inout TortureReport, executable: String) {
        do {
            let count = 3
            let ring = try SharedRing.create(schema: TestItems.schema(floats: 16), lanes: 1, slotsPerLane: 4)
            let producer = try TortureChild(executable, role: "produce", [
                "--start", "0", "--count", "\(count)", "--lane", "0", "--timeout-ms", "10000", "--finish",
            ], ring: ring)
            let first = try TortureChild(executable, role: "consume-record", ["--idle-ms", "3000"], ring: ring)
            for child in [producer, first] where (try? child.child.wait(timeout: roundDeadline)) == nil {
                report.fault("late consumer: pid \(child.pid) did not end within \(roundDeadline) (hang)")
                return
            }
            let late = try TortureChild(executable, role: "consume-record", ["--idle-ms", "3000"], ring: ring)
            if (try? late.child.wait(timeout: roundDeadline)) == nil {
                report.fault("late consumer: a consumer attached after the end of the stream did not end within "
                    + "\(roundDeadline) (hang)")
            }
            let delivered = records(first) + records(late)
            report.itemsChecked += delivered.count
            if delivered.sorted() != Array(0..<count) || !records(late).isEmpty {
                report.fault("late consumer: the first consumer got \(records(first)), the late one \(records(late)); "
                    + "expected 0..<\(count) and nothing")
            }
            for child in [first, late] where child.text.contains("error:") {
                report.fault("late consumer: pid \(child.pid) did not end cleanly: \(child.text)")
            }
        } catch {
            report.fault("late consumer: \(error)")
        }
    }
}

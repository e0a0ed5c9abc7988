import Conveyor
import ConveyorTestDatasets
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Producers and consumers for a long time, with resets and restarts mixed
/// in: two producer processes on a named ring, two consumer threads here.
/// Every few seconds a producer is killed and a new one takes its lane, the
/// ring is reset, or the whole ring is dropped and made anew (an era).
/// Checked: every item intact; in each era, items delivered + discarded +
/// left == committed and delivered == the ring's consumed count; deaths only
/// of killed producers; this process's resident memory and descriptors flat
/// (measured after the first era, and at the end); no segment left in /dev/shm.
public enum SoakTorture {
    static let eraLength: Duration = .seconds(10)

    /// One era's shared state between the main thread and the consumers.
    final class Era: Sendable {
        let ring: SharedRing
        let stopping = Atomic<Bool>(false)
        let delivered = Atomic<Int>(0)
        let corrupt = Atomic<Int>(0)
        let running = Atomic<Int>(0)
        let deaths = Mutex<[Int32]>([])
        let problems = Mutex<[String]>([])

        init(ring: SharedRing) { self.ring = ring }
    }

    /// Runs for the settings' budget.
    public static func run(_ settings: TortureSettings) -> TortureReport {
        var report = TortureReport(part: .soak, seed: settings.seed)
        let start = ContinuousClock.now
        var random = SeededRandom(seed: settings.seed)
        let pid = getpid()
        let segmentsBefore = ProcessResources.ringSegments(of: pid)
        var baseline: ProcessResources?
        var nextBase = 0
        var events = (kills: 0, resets: 0, eras: 0)
        repeat {
            do {
                try era(&report, random: &random, base: &nextBase, events: &events, settings: settings,
                        until: min(ContinuousClock.now + eraLength, start + settings.budget))
            } catch {
                report.fault("era \(events.eras): \(error)")
            }
            events.eras += 1
            if baseline == nil { baseline = ProcessResources.now() }  // after the first era: caches and pools warm
            settings.log("soak: \(events.eras) eras, \(report.itemsChecked) items, \(report.faults.count) faults, "
                + "\(ProcessResources.now().residentKiB) KiB resident")
        } while ContinuousClock.now - start < settings.budget
        let end = ProcessResources.now()
        report.resources = (baseline ?? end, end)
        report.rounds = events.eras
        report.kills = events.kills
        report.notes.append("eras (rings made anew) \(events.eras), producer kills \(events.kills), resets \(events.resets)")
        if let baseline {
            if end.descriptors > baseline.descriptors { report.fault("descriptors grew: \(baseline.descriptors) → \(end.descriptors)") }
            // Flat: within 8 MiB, and 25%, of the baseline.
            if end.residentKiB > baseline.residentKiB + max(8192, baseline.residentKiB / 4) {
                report.fault("resident memory grew: \(baseline.residentKiB) → \(end.residentKiB) KiB")
            }
        }
        let left = Set(ProcessResources.ringSegments(of: pid)).subtracting(segmentsBefore)
        if !left.isEmpty { report.fault("left in /dev/shm: \(left.sorted())") }
        report.seconds = Double((ContinuousClock.now - start).components.seconds)
        return report
    }

    /// How long a SIGKILLed producer may take to end and be reaped, and the
    /// consumers to stop: a bound against hangs on a loaded machine, not a speed test.
    static let stopBound: Duration = .seconds(30)

    /// One era: a new ring, producers killed and restarted, resets, and the
    /// checks at its end. Whether it ends normally or throws, its producers are
    /// killed and reaped, its consumer threads stopped and its ring dropped
    /// (segment unlinked, descriptor closed), so one bad era leaks nothing.
    private static func era(
        _ report: inout TortureReport, random: inout SeededRandom, base: inout Int,
        events: inout (kills: Int, resets: Int, eras: Int), settings: TortureSettings, until end: ContinuousClock.Instant
    ) throws {
        let ring = try SharedRing.create(schema: TestItems.schema(floats: 1024), lanes: 2, slotsPerLane: 8, naming: .named(nil))
        let era = Era(ring: ring)
        var producers: [TortureChild] = []
        defer {
            // Already done on the normal path (then these do nothing); after a throw, the cleanup.
            for producer in producers { _ = try? stop(producer, settings) }
            if !stopConsumers(era) { report.fault("era \(events.eras): a consumer did not stop within \(stopBound) (hang)") }
        }
        for _ in 0..<2 {
            era.running.add(1, ordering: .acquiringAndReleasing)
            do {
                try startThread { consume(era) }
            } catch {
                era.running.subtract(1, ordering: .acquiringAndReleasing)
                throw error
            }
        }
        var killed: Set<Int32> = []
        func spawn(lane: Int, from first: Int) throws -> TortureChild {
            try TortureChild(settings.executable, role: "produce", [
                "--start", "\(first)", "--lane", "\(lane)", "--forever", "--delay-us", "20", "--timeout-ms", "5000",
            ], ring: ring)
        }
        // Each producer gets its own range of k: more than it can make in an era (50,000 items/s at
        // most, for 10 s). The ranges wrap below 2^30, so k stays an Int32 (an item stores k as one)
        // however long the soak runs; an era's producers never come near a full wrap (1,024 ranges).
        let span = 1 << 20
        func next(_ base: inout Int) -> Int {
            defer { base = (base + span) & (1 << 30 - 1) }
            return base
        }
        for lane in 0..<2 {
            producers.append(try spawn(lane: lane, from: next(&base)))
        }
        while ContinuousClock.now < end {
            usleep(UInt32(200_000 + random.next() % 800_000))
            switch random.next() % 3 {
            case 0:
                let lane = Int(random.next() % 2)
                killed.insert(producers[lane].pid)
                try stop(producers[lane], settings)
                events.kills += 1
                // The new producer may claim the lane before the consumers saw the death.
                producers[lane] = try spawn(lane: lane, from: next(&base))
            case 1:
                ring.reset()
                events.resets += 1
            default:
                break
            }
        }
        // End of the era: producers killed, consumers stopped, then the ring's counts must add up.
        for producer in producers {
            killed.insert(producer.pid)
            try stop(producer, settings)
        }
        guard stopConsumers(era) else { return }  // the defer reports the hang
        let info = ring.info
        let committed = info.lanes.reduce(0) { $0 + Int($1.committed) }
        let consumed = info.lanes.reduce(0) { $0 + Int($1.consumed) }
        let discarded = info.lanes.reduce(0) { $0 + Int($1.discarded) }
        let delivered = era.delivered.load(ordering: .acquiring)
        report.itemsChecked += delivered
        if delivered == 0 {
            report.fault("era \(events.eras): no item was delivered (did the producers start? committed \(committed))")
        }
        if era.corrupt.load(ordering: .acquiring) > 0 {
            report.fault("era \(events.eras): \(era.corrupt.load(ordering: .acquiring)) items not intact")
        }
        if delivered != consumed || delivered + discarded + info.depth != committed {
            report.fault("era \(events.eras): delivered \(delivered), consumed \(consumed), discarded \(discarded), "
                + "left \(info.depth), committed \(committed)")
        }
        for pid in era.deaths.withLock({ $0 }) where !killed.contains(pid) {
            report.fault("era \(events.eras): false death of pid \(pid)")
        }
        for problem in era.problems.withLock({ $0 }) { report.fault("era \(events.eras): \(problem)") }
    }

    /// Kills `producer` (SIGKILL) and reaps it, waiting up to `stopBound`. A
    /// producer not reaped by then is a fault: it throws, naming its /proc
    /// state and its threads', after logging everything the kernel says
    /// about it and waiting up to `stopBound` more to tell a slow end from none.
    private static func stop(_ producer: TortureChild, _ settings: TortureSettings) throws {
        try producer.child.kill()
        do {
            _ = try producer.child.wait(timeout: stopBound)
        } catch {
            let report = ChildProcess.kernelReport(of: producer.pid)
            settings.log("soak: killed producer \(producer.pid) not reaped within \(stopBound): \(report)")
            let late = ContinuousClock.now
            let end = (try? producer.child.wait(timeout: stopBound)).map { _ in
                "reaped \((ContinuousClock.now - late + stopBound).components.seconds) s after the kill"
            } ?? "still not reaped \(stopBound * 2) after the kill"
            throw SoakFault(description: "\(error); \(end)")
        }
    }

    /// A broken promise found by the soak's own checks.
    struct SoakFault: Error, CustomStringConvertible {
        var description: String
    }

    /// Tells the era's consumer threads to stop and waits up to `stopBound`
    /// for them; whether they all stopped.
    private static func stopConsumers(_ era: Era) -> Bool {
        era.stopping.store(true, ordering: .releasing)
        let deadline = ContinuousClock.now + stopBound
        while era.running.load(ordering: .acquiring) > 0 {
            if ContinuousClock.now > deadline { return false }
            usleep(1000)
        }
        return true
    }

    /// A consumer thread: checks items until its era stops.
    private static func consume(_ era: Era) {
        defer { era.running.subtract(1, ordering: .acquiringAndReleasing) }
        let consumer: RingConsumer
        do {
            consumer = try era.ring.consumer()
        } catch {
            era.problems.withLock { $0.append("a consumer could not attach: \(error)") }
            return
        }
        var checker = TestItemChecker()
        while !era.stopping.load(ordering: .acquiring) {
            do throws(ConveyorError) {
                let lease = try consumer.next(timeout: .milliseconds(50))
                let before = checker.corrupt
                let k = (try? checker.check(lease)) ?? nil
                checker.seen.removeAll(keepingCapacity: true)  // duplicates are caught by the counts; memory stays flat
                if checker.corrupt > before || k == nil { era.corrupt.add(1, ordering: .relaxed) }
                era.delivered.add(1, ordering: .relaxed)
            } catch let .producerDied(pid, _, _) {
                era.deaths.withLock { $0.append(pid) }
            } catch .timedOut, .producerStalled {
                continue
            } catch {
                era.problems.withLock { $0.append("a consumer got \(error)") }
                return
            }
        }
    }
}

import ArgumentParser
import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension BenchCatalog {
    /// Shared-memory ring scenarios: producer processes (this program re-run
    /// as `conveyor ring-producer`) → one consumer, as SCENARIOS.md defines them.
    static var ringScenarios: [BenchScenario] {
        [
            RingBench.throughput("ring-4k", "2 producer processes → 1 consumer through shared memory, 20,000 items of 4k",
                                 floats: 1024, items: 20_000),
            RingBench.throughput("ring-256k", "the same, 2,000 items of 256k", floats: 65_536, items: 2_000),
            RingBench.throughput("ring-4m", "the same, 400 items of 4m", floats: 1 << 20, items: 400),
            BenchScenario(name: "ring-latency",
                          summary: "1 producer process pausing 0.5 ms per item → 1 waiting consumer, 2,000 items of 4k; "
                              + "also the CPU and wake-ups of a consumer waiting 1 s on an empty ring whose producer lives") { quick in
                try RingBench.best(quick) { try RingBench.latency() }
            },
            RingBench.throughput("processes-4k", "2 producer processes → 1 consumer, 2,000 items of 4k, through the ring",
                                 floats: 1024, items: 2_000),
        ]
    }
}

/// The ring benchmark: the consumer side, run by `conveyor bench`.
enum RingBench {
    static let ints = 16
    static let impl = "conveyor ring (processes)"
    /// Queue depth 10 (SCENARIOS.md) in all, split among the producers' lanes
    /// (the ring has one queue per producer, where the seed shares one).
    static let depth = 10

    /// Slots in each of `workers` lanes, so that all lanes together hold `depth`.
    static func slotsPerLane(workers: Int) -> Int {
        Swift.max(2, depth / Swift.max(1, workers))
    }

    static func schema(floats: Int) throws -> Schema {
        try Schema([Field("f", .float32, shape: [floats]), Field("i", .int32, shape: [ints])])
    }

    static func throughput(_ name: String, _ summary: String, floats: Int, items: Int) -> BenchScenario {
        BenchScenario(name: name, summary: summary) { quick in
            try best(quick) { try run(name, floats: floats, items: items, workers: 2) }
        }
    }

    /// The best (fastest) of three runs, or one when `quick`.
    static func best(_ quick: Bool, _ body: () throws -> BenchRow) throws -> [BenchRow] {
        var rows: [BenchRow] = []
        for _ in 0..<(quick ? 1 : 3) { rows.append(try body()) }
        return [rows.max { $0.items_per_s < $1.items_per_s }!]
    }

    /// `workers` producer processes write items 0..<items (worker w: w, w + workers, ...); this process consumes and checks.
    static func run(_ name: String, floats: Int, items: Int, workers: Int, pauseMicroseconds: Int = 0)
        throws -> BenchRow {
        let ring = try SharedRing.create(schema: schema(floats: floats), lanes: workers,
                                         slotsPerLane: slotsPerLane(workers: workers))
        let consumer = try ring.consumer()
        let spawned = monotonicNanoseconds()
        let children = try (0..<workers).map { w in
            try ChildProcess.spawn(
                arguments: ["ring-producer", "--fd", "\(ring.descriptor)", "--lane", "\(w)", "--workers", "\(workers)",
                            "--items", "\(items)", "--floats", "\(floats)", "--pause-us", "\(pauseMicroseconds)"],
                inheriting: [ring.descriptor])
        }
        var seen = [Bool](repeating: false, count: items)
        var corrupt = 0, duplicated = 0
        var latencies: [Double] = []
        var firstStart: Int64?
        for n in 0..<items {
            let lease = try consumer.next(timeout: .seconds(60), coldBoot: true)
            let arrived = monotonicNanoseconds()
            if n == 0 {
                // The first worker's start: the earliest claim of a lane (the workers are attached now).
                firstStart = ring.info.lanes.compactMap(\.sinceClaim).max().map { since in
                    arrived - since.components.seconds * 1_000_000_000 - since.components.attoseconds / 1_000_000_000
                }
            }
            let (k, good, stamp) = try lease.withSpan(of: 1, as: Int32.self) { ints -> (Int, Bool, Int64) in
                let k = Int(ints[0])
                let stamp = Int64(ints[1]) << 31 | Int64(ints[2])
                return (k, ints[ints.count - 1] == ints[0], stamp)
            }
            let floatsGood = try lease.withSpan(of: 0, as: Float.self) { f in
                f.count == floats && f[0] == Float(k) && f[f.count - 1] == Float(k)
            }
            if !(good && floatsGood) || !(0..<items).contains(k) {
                corrupt += 1
                continue
            }
            if seen[k] { duplicated += 1 }
            seen[k] = true
            if pauseMicroseconds > 0 { latencies.append(Double(arrived - stamp) / 1000) }
        }
        let finished = monotonicNanoseconds()
        // Seconds from the first worker's start (its claim of a lane) to the last item checked.
        let start = min(firstStart ?? spawned, finished)
        for child in children { _ = try child.wait(timeout: .seconds(60)) }
        let missing = seen.lazy.filter { !$0 }.count
        var row = BenchRow(scenario: name, impl: impl, items: items, itemBytes: (floats + ints) * 4, workers: workers,
                           seconds: Double(finished - start) / 1e9,
                           corrupt: corrupt, missing: missing, duplicated: duplicated)
        let withSpawn = Double(finished - spawned) / 1e9
        row.note = "depth \(slotsPerLane(workers: workers)) per lane; including process start: \(Int((Double(items - missing) / withSpawn).rounded())) items/s in "
            + "\((withSpawn * 1e4).rounded() / 1e4) s"
        if !latencies.isEmpty {
            latencies.sort()
            row.p50_us = (latencies[latencies.count / 2] * 10).rounded() / 10
            row.p99_us = (latencies[Int(Double(latencies.count) * 0.99)] * 10).rounded() / 10
            row.note = nil
        }
        return row
    }

    /// ring-latency, plus the CPU and wake-ups of a consumer waiting 1 s
    /// on an empty ring while its producer (a live process) holds its lane.
    static func latency() throws -> BenchRow {
        var row = try run("ring-latency", floats: 1024, items: 2_000, workers: 1, pauseMicroseconds: 500)
        let ring = try SharedRing.create(schema: schema(floats: 1024), lanes: 1, slotsPerLane: slotsPerLane(workers: 1))
        let consumer = try ring.consumer()
        // A producer process that claims the lane and commits nothing until it is killed.
        let producer = try ChildProcess.spawn(
            arguments: ["ring-producer", "--fd", "\(ring.descriptor)", "--lane", "0", "--workers", "1",
                        "--items", "0", "--floats", "1024", "--hold"],
            inheriting: [ring.descriptor])
        defer {
            try? producer.kill()
            _ = try? producer.wait(timeout: .seconds(10))
        }
        let claimDeadline = monotonicNanoseconds() + 10_000_000_000
        while ring.info.lanes[0].producerPID == nil, monotonicNanoseconds() < claimDeadline { usleep(1000) }
        let cpuBefore = BenchSupport.threadCPUSeconds(), sleepsBefore = BenchSupport.threadSleeps()
        let wallBefore = monotonicNanoseconds()
        do {
            _ = try consumer.next(timeout: .seconds(1))
        } catch ConveyorError.timedOut {
            // Expected: nothing is ever produced.
        }
        let wall = Double(monotonicNanoseconds() - wallBefore) / 1e9
        row.idle_cpu_percent = ((BenchSupport.threadCPUSeconds() - cpuBefore) / wall * 100 * 1000).rounded() / 1000
        row.idle_wakeups_per_s = (Double(BenchSupport.threadSleeps() - sleepsBefore) / wall * 10).rounded() / 10
        return row
    }

    static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// `conveyor ring-producer` (hidden): one producer process of a ring benchmark.
/// Worker w of W writes items w, w + W, ... < items into lane w: every float
/// and int equal to the item's index (with `--pause-us`, a pause before each
/// item and CLOCK_MONOTONIC stamped into ints 1 and 2).
struct RingProducerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring-producer", abstract: "A ring benchmark's producer process (internal).", shouldDisplay: false)

    @Option var fd: Int32
    @Option var lane: Int
    @Option var workers: Int
    @Option var items: Int
    @Option var floats: Int
    @Option var pauseUs: Int = 0
    /// Keep the lane after the last item, until killed (a live, idle producer).
    @Flag var hold = false

    func run() throws {
        try ChildProcess.bindLifetimeToParent()
        let ring = try SharedRing.attach(descriptor: fd, expecting: RingBench.schema(floats: floats))
        try produce(ring)
    }

    private func holdLane(_ producer: RingProducer) -> Never {
        while true { sleep(60) }
    }

    private func produce(_ ring: SharedRing) throws {
        let producer = try ring.producer(lane: lane)
        for k in stride(from: lane, to: items, by: workers) {
            if pauseUs > 0 { usleep(UInt32(pauseUs)) }
            let writer = try producer.reserve(timeout: .seconds(60))
            try writer.withUnsafeMutableBufferPointer(of: 0, as: Float.self) { ItemFill.fill($0, with: Float(k)) }
            try writer.withUnsafeMutableBufferPointer(of: 1, as: Int32.self) { ints in
                ItemFill.fill(ints, with: Int32(k))
                if pauseUs > 0 {
                    let now = RingBench.monotonicNanoseconds()
                    ints[1] = Int32(truncatingIfNeeded: now >> 31)
                    ints[2] = Int32(truncatingIfNeeded: now & 0x7FFF_FFFF)
                }
            }
            try writer.commit()
        }
        if hold { holdLane(producer) }
    }
}

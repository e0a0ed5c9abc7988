import Conveyor
import ConveyorTestDatasets

#if canImport(Glibc)
import Glibc
#endif

/// The program the tests spawn as a real producer or consumer process.
///
///     conveyor-test-helper produce  --start S --count C [--lane L] [--delay-us D] [--exit-code N] [--hold]
///                                   [--finish] [--zero-rows]
///     conveyor-test-helper consume  --count C [--timeout-ms T] [--zero-rows]
///     conveyor-test-helper hold-lease
///     conveyor-test-helper attach
///     conveyor-test-helper create-named     (creates a named ring, prints its name, waits to be killed)
///     conveyor-test-helper loader-consume   (a DataLoader with 2 worker processes: prints "workers PID PID", then
///                                            reads batches slowly until killed)
///     conveyor-test-helper spawn-bound      (spawns `bound-child` from a thread that then ends, prints
///                                            "child PID" and waits to be killed)
///     conveyor-test-helper bound-child --parent P   (binds its lifetime to P, then sleeps until it ends)
///
/// It hosts DataLoader worker processes too: `main` calls the bootstrap first.
///
/// Every command attaches to the ring named by `--name NAME`, or by the
/// descriptor in `--fd N` or $CONVEYOR_RING_FD, expecting the test schema
/// `--floats F --ints I` (defaults 64 and 4). Items follow `TestItems`
/// (with `--zero-rows`, some hold 0 rows in a field), every value equal to
/// k, so any torn or stale write shows. With `--schema mixed`, produce and consume use
/// `Mixed.schema` and its pattern instead (shared with the Python peer,
/// Tests/ForeignPeers/format_peer.py). Output: one line of "key value"
/// pairs; errors go to stderr with exit status 2.
@main
struct Helper {
    static func main() {
        WorkerProcess.bootstrap(datasets: ProbeDataset.self)
        var options = Options(CommandLine.arguments.dropFirst())
        do {
            if options.command == "bound-child" { try boundChild(parent: Int32(options.int("--parent", -1))) }
            try ChildProcess.bindLifetimeToParent()
            if options.command == "spawn-bound" { try spawnBound() }
            if options.command == "loader-consume" { try loaderConsume() }
            let mixed = options.string("--schema") == "mixed"
            let schema = mixed ? try Mixed.schema()
                : try TestItems.schema(floats: options.int("--floats", 64), ints: options.int("--ints", 4))
            if options.command == "create-named" {
                // A creator that the test kills: its named segment is left behind.
                let ring = try SharedRing.create(schema: schema, lanes: 1, slotsPerLane: 2, naming: .named(nil))
                say("created \(ring.name ?? "")")
                while true { withExtendedLifetime(ring) { _ = sleep(60) } }  // kept to the end (see produceItems)
            }
            let ring: SharedRing
            if let name = options.string("--name") {
                ring = try SharedRing.attach(name: name, expecting: schema)
            } else {
                let fd = options.int("--fd", Int(getenv("CONVEYOR_RING_FD").flatMap { Int32(String(cString: $0)) } ?? -1))
                ring = try SharedRing.attach(descriptor: Int32(fd), expecting: schema)
            }
            switch options.command {
            case "produce" where mixed: try Mixed.produce(ring, options)
            case "consume" where mixed: try Mixed.consume(ring, options)
            case "produce": try produce(ring, &options)
            case "consume": try consume(ring, &options)
            case "hold-lease": try holdLease(ring)
            case "attach": say("attached lanes \(ring.laneCount)")
            default: throw ConveyorError.invalidArgument("unknown command '\(options.command)'")
            }
        } catch {
            say("helper: \(error)", to: 2)
            exit(2)
        }
    }

    /// A process bound to `parent`: it ends only when its parent does.
    static func boundChild(parent: Int32) throws -> Never {
        try ChildProcess.bindLifetimeToParent(expectedParent: parent)
        while true { _ = sleep(60) }
    }

    /// The middle process of the parent-death test: its `bound-child` is
    /// spawned from a thread that ends at once (as a pool thread may), so
    /// the child must outlive that thread and end only with this process.
    static func spawnBound() throws -> Never {
        final class Spawned: @unchecked Sendable {  // @unchecked: written by the thread, read after the join
            var child: ChildProcess?
            var error: (any Error)?
        }
        let spawned = Unmanaged.passRetained(Spawned())
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { argument in
            let spawned = Unmanaged<Spawned>.fromOpaque(argument!).takeUnretainedValue()
            do {
                spawned.child = try ChildProcess.spawn(arguments: ["bound-child", "--parent", "\(getpid())"])
            } catch {
                spawned.error = error
            }
            return nil
        }, spawned.toOpaque())
        guard created == 0 else { throw ConveyorError.invalidArgument("pthread_create failed: \(created)") }
        pthread_join(thread, nil)
        let result = spawned.takeRetainedValue()
        if let error = result.error { throw error }
        guard let child = result.child else { throw ConveyorError.invalidArgument("no child was spawned") }
        usleep(200_000)  // time for a signal tied to the ended thread (PR_SET_PDEATHSIG) to kill the child
        say("child \(child.pid)")
        while true { withExtendedLifetime(child) { _ = sleep(60) } }  // the handle would kill the child on release
    }

    /// A consumer with worker processes, for the test that kills it.
    static func loaderConsume() throws -> Never {
        let loader = try DataLoader(
            describedBy: ProbeDataset(count: 1_000_000, sleepMicroseconds: 1000),
            LoaderConfiguration(batchSize: 4, workers: .processes(2)))
        var batches = loader.makeBatchIterator()
        _ = try batches.next()
        say("workers " + loader.workerProcessIDs.map(String.init).joined(separator: " "))
        while true {
            _ = try batches.next()
            usleep(10_000)
        }
    }

    static func produce(_ ring: SharedRing, _ options: inout Options) throws {
        let hold = options.flag("--hold")
        try produceItems(ring, options, holdWhenDone: hold)
        // The producer was released above: a clean exit frees its lane, and no death is reported.
        exit(0)
    }

    static func produceItems(_ ring: SharedRing, _ options: Options, holdWhenDone: Bool) throws {
        let producer = try ring.producer(lane: options.optionalInt("--lane"))
        let items = TestItems(zeroRows: options.flag("--zero-rows"))
        let start = options.int("--start", 0), count = options.int("--count", 0)
        let delay = options.int("--delay-us", 0)
        say("claimed lane \(producer.lane)")
        for k in start..<(start + count) {
            if delay > 0 { usleep(UInt32(delay)) }
            var writer = try producer.reserve(timeout: .seconds(60))
            try items.write(k, into: &writer)
            try writer.commit()
        }
        // Finishing ends the lane's stream: consumers see its end, not a death.
        if options.flag("--finish") { try producer.finish() }
        say("produced \(count)")
        // Exiting here, with the lane still claimed, is a producer that died.
        if let code = options.optionalInt("--exit-code") { exit(Int32(code)) }
        // Holding keeps the lane claimed: a producer that is alive but idle. The producer is used in every turn
        // of the wait: were its last use above (or after the endless loop, where the optimizer drops it), an
        // optimized build would release it at once, and releasing it frees the lane.
        if holdWhenDone { while true { withExtendedLifetime(producer) { _ = sleep(60) } } }
    }

    static func consume(_ ring: SharedRing, _ options: inout Options) throws {
        let consumer = try ring.consumer()
        let count = options.int("--count", 0)
        let timeout = Duration.milliseconds(options.int("--timeout-ms", 20_000))
        var checker = TestItemChecker(items: TestItems(zeroRows: options.flag("--zero-rows")))
        for _ in 0..<count { try checker.check(consumer.next(timeout: timeout)) }
        say("consumed \(count) corrupt \(checker.corrupt) empty \(checker.empty)")
    }

    /// Leases one item and keeps it until killed: a consumer that dies holding a slot.
    static func holdLease(_ ring: SharedRing) throws {
        let consumer = try ring.consumer()
        let lease = try consumer.next(timeout: .seconds(30))
        say("holding lane \(lease.lane) position \(lease.position)")
        while true {
            _ = sleep(60)
            _ = lease.lane  // the lease is held to the end (see produceItems)
        }
    }
}

/// Writes one line, unbuffered, to descriptor `fd` (1: stdout, 2: stderr).
func say(_ line: String, to fd: Int32 = 1) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}

/// A tiny argument reader: the command, then "--key value" pairs and flags.
struct Options {
    var command: String
    var rest: [String]

    init(_ arguments: ArraySlice<String>) {
        command = arguments.first ?? ""
        rest = Array(arguments.dropFirst())
    }

    func string(_ key: String) -> String? {
        guard let index = rest.firstIndex(of: key), index + 1 < rest.count else { return nil }
        return rest[index + 1]
    }

    func optionalInt(_ key: String) -> Int? { string(key).flatMap { Int($0) } }

    func int(_ key: String, _ fallback: Int) -> Int { optionalInt(key) ?? fallback }

    func flag(_ key: String) -> Bool { rest.contains(key) }
}

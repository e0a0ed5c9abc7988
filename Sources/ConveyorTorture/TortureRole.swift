import Conveyor
import ConveyorTestDatasets

#if canImport(Glibc)
import Glibc
#endif

/// The roles the torture program plays as a child process of the suite
/// (`conveyor-torture role NAME …`): each attaches to the ring whose
/// descriptor is in $CONVEYOR_RING_FD, does its part and exits.
///
///     produce         --start S --count C [--lane L] [--forever] [--finish] [--timeout-ms T] [--delay-us D]
///                                         (--finish: ends its stream with `finish()` after the last item)
///     consume-record  --idle-ms T        (writes each item's k, 4 bytes, to stdout before releasing it;
///                                         ends at the end of the stream or after T without an item)
///     consume-attach                      (attaches a consumer, prints "attached", sleeps until killed)
///     consume-hold                        (leases one item, prints "holding …", sleeps until killed)
///     shm-full        --free-mib M        (run where /dev/shm is a small tmpfs; see ShmFullTorture)
///     truncated                           (makes a named ring, uses it after its file is truncated; TruncationTorture)
public enum TortureRole {
    /// The environment variable that names the shared ring's descriptor.
    static let ringDescriptorKey = "CONVEYOR_RING_FD"

    /// Plays the role named in `arguments` (after "role") and exits.
    public static func serve(_ arguments: [String]) -> Never {
        let options = RoleOptions(arguments)
        do {
            if options.command == "shm-full" { exit(ShmFullTorture.child(freeMiB: options.int("--free-mib", 8))) }
            if options.command == "truncated" { exit(TruncationTorture.child()) }
            let fd = getenv(ringDescriptorKey).flatMap { Int32(String(cString: $0)) } ?? -1
            let ring = try SharedRing.attach(descriptor: fd, expecting: nil)
            switch options.command {
            case "produce": try produce(ring, options)
            case "consume-record": try consumeRecording(ring, idle: .milliseconds(options.int("--idle-ms", 1000)))
            case "consume-hold":
                let consumer = try ring.consumer()
                let lease = try consumer.next(timeout: .seconds(20), coldBoot: true)
                write(line: "holding lane \(lease.lane) position \(lease.position)")
                while true {
                    _ = sleep(60)
                    _ = lease.lane  // the lease is held to the end
                }
            case "consume-attach":
                let consumer = try ring.consumer()
                write(line: "attached")
                // Using the consumer after the wait keeps it (and its registration) alive through it.
                while consumer.itemsReceived < UInt64.max { sleep(60) }
            default: throw ConveyorError.invalidArgument("unknown role '\(options.command)'")
            }
            exit(0)
        } catch {
            write(line: "error: \(error)")
            exit(3)
        }
    }

    /// Produces `TestItems` k = start, start + 1, …: `--count` of them, or
    /// until the consumers are gone (`--forever`); a reset makes it write the
    /// same k again.
    private static func produce(_ ring: SharedRing, _ options: RoleOptions) throws {
        let producer = try ring.producer(lane: options.optionalInt("--lane"))
        let items = TestItems(zeroRows: options.flag("--zero-rows"))
        let start = options.int("--start", 0)
        let end = options.flag("--forever") ? Int(Int32.max) : start + options.int("--count", 0)
        let timeout = Duration.milliseconds(options.int("--timeout-ms", 10_000))
        let delay = options.int("--delay-us", 0)
        write(line: "claimed lane \(producer.lane)")
        var k = start
        while k < end {
            if delay > 0 { usleep(UInt32(delay)) }
            do {
                var writer = try producer.reserve(timeout: timeout)
                try items.write(k, into: &writer)
                try writer.commit()
                k += 1
            } catch ConveyorError.ringReset {
                continue
            } catch ConveyorError.consumerGone where options.flag("--forever") {
                break
            }
        }
        if options.flag("--finish") { try producer.finish() }
        write(line: "produced \(k - start)")
    }

    /// Consumes until the end of the stream (every lane finished and
    /// drained) or until nothing arrives for `idle`, writing each item's k as 4
    /// little-endian bytes (-1: an item with no rows, Int32.min: a corrupt
    /// one) before releasing it, so a kill loses at most the item it held.
    private static func consumeRecording(_ ring: SharedRing, idle: Duration) throws {
        let consumer = try ring.consumer()
        var checker = TestItemChecker(items: TestItems())
        while true {
            let lease: RingLease
            do throws(ConveyorError) {
                guard let next = try consumer.nextItem(timeout: idle, coldBoot: true) else { return }
                lease = next
            } catch .producerDied {
                continue
            } catch .timedOut, .producerStalled {
                return
            }
            let corruptBefore = checker.corrupt
            var value: Int32 = -1
            do {
                if let k = try checker.check(lease) { value = Int32(truncatingIfNeeded: k) }
            } catch {
                checker.corrupt += 1
            }
            if checker.corrupt > corruptBefore { value = Int32.min }
            _ = Glibc.write(1, &value, 4)
            lease.release()
        }
    }

    /// Writes one line to standard output, unbuffered.
    static func write(line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
    }
}

/// A tiny argument reader: the role, then "--key value" pairs and flags.
struct RoleOptions {
    var command: String
    var rest: [String]

    init(_ arguments: [String]) {
        command = arguments.first ?? ""
        rest = Array(arguments.dropFirst())
    }

    func optionalInt(_ key: String) -> Int? {
        guard let index = rest.firstIndex(of: key), index + 1 < rest.count else { return nil }
        return Int(rest[index + 1])
    }

    func int(_ key: String, _ fallback: Int) -> Int { optionalInt(key) ?? fallback }

    func flag(_ key: String) -> Bool { rest.contains(key) }
}

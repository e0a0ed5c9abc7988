import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// A named segment truncated while in use: anyone who may write its file in
/// /dev/shm can do it, and a process that then touches its mapping dies of
/// SIGBUS unless the ring guards against it. A child makes a named ring with
/// a producer and a consumer, the suite truncates the file to 0 bytes, and
/// the child goes on using the ring: it may get errors, but must not die.
public enum TruncationTorture {
    /// Runs the check 3 times (fewer with `settings.rounds`), within the budget.
    public static func run(_ settings: TortureSettings) -> TortureReport {
        var report = TortureReport(part: .truncation, seed: settings.seed)
        let start = ContinuousClock.now
        while report.rounds < min(3, settings.rounds ?? 3), settings.mayContinue(round: report.rounds, since: start) {
            do {
                let child = try TortureChild(settings.executable, role: "truncated", [])
                guard let line = child.waitForLine("created ", timeout: .seconds(20)) else {
                    report.fault("round \(report.rounds): the child made no ring: \(child.text)")
                    report.rounds += 1
                    continue
                }
                let path = "/dev/shm/" + line.dropFirst("created ".count)
                let fd = open(path, O_WRONLY | O_CLOEXEC)
                if fd >= 0 { _ = ftruncate(fd, 0); close(fd) }
                report.kills += 1
                let status = try child.child.wait(timeout: .seconds(20))
                report.itemsChecked += 1
                if status != .exited(0) {
                    report.fault("round \(report.rounds): the ring's process \(status) after its named segment was "
                        + "truncated to 0 bytes by another process; output: \(child.text.suffix(200))")
                }
                unlink(path)
            } catch {
                report.fault("round \(report.rounds): \(error)")
            }
            report.rounds += 1
        }
        report.seconds = Double((ContinuousClock.now - start).components.seconds)
        return report
    }

    /// The child: a named ring used before and after its file is truncated. Returns the exit status.
    static func child() -> Int32 {
        do {
            let schema = try Schema([Field("x", .uint8, shape: [4096])])
            let ring = try SharedRing.create(schema: schema, lanes: 1, slotsPerLane: 4, naming: .named(nil))
            let producer = try ring.producer()
            let consumer = try ring.consumer()
            try producer.put([RingColumn([UInt8](repeating: 1, count: 4096))], timeout: .seconds(1))
            TortureRole.write(line: "created \(ring.name ?? "")")
            // Wait until the file is cut (the suite does it at once), then use the ring as before.
            var stats = stat()
            let path = "/dev/shm/\(ring.name ?? "")"
            let deadline = ContinuousClock.now + .seconds(10)
            while stat(path, &stats) == 0, stats.st_size > 0, ContinuousClock.now < deadline { usleep(1000) }
            for _ in 0..<3 {
                _ = ring.info.description
                if let lease = try? consumer.next(timeout: .milliseconds(10)) {
                    _ = try? lease.withSpan(of: 0, as: UInt8.self) { $0.count }
                }
                try? producer.put([RingColumn([UInt8](repeating: 2, count: 4096))], timeout: .milliseconds(10))
            }
            TortureRole.write(line: "survived")
            return 0
        } catch {
            TortureRole.write(line: "error: \(error)")
            return 3
        }
    }
}

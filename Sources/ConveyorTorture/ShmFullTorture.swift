import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// /dev/shm nearly full. The suite runs a child in a mount namespace of
/// its own (`unshare -m`) with a small tmpfs on /dev/shm, filled with a
/// file (fallocate) until little is free; there, creating a named ring
/// larger than what is free must fail with `.insufficientSharedMemory`
/// saying what it needs and what is free, and a ring that fits must be
/// writable end to end — no SIGBUS anywhere.
public enum ShmFullTorture {
    static let tmpfsMiB = 16

    /// Runs the child once (needs root for the namespace; says so otherwise).
    public static func run(_ settings: TortureSettings) -> TortureReport {
        var report = TortureReport(part: .shmFull, seed: settings.seed)
        let start = ContinuousClock.now
        report.rounds = 1
        let script = "mount -t tmpfs -o size=\(tmpfsMiB)m conveyor-torture /dev/shm && exec \"$0\" role shm-full --free-mib \(tmpfsMiB)"
        do {
            let output = TortureChild.temporaryFile()
            defer { close(output) }
            let child = try ChildProcess.spawn(
                executable: "/usr/bin/unshare", arguments: ["-m", "--propagation", "private", "sh", "-c", script, settings.executable],
                environment: ["SWIFT_BACKTRACE": "enable=no"], standardOutput: output, standardError: output)
            let status = try child.wait(timeout: .seconds(60))
            let text = TortureChild.contents(of: output)
            for line in text.split(separator: "\n") {
                if line.hasPrefix("fault ") { report.fault(String(line.dropFirst(6))) }
                if line.hasPrefix("ok ") { report.itemsChecked += 1; report.notes.append(String(line.dropFirst(3))) }
            }
            switch status {
            case .exited(0): break
            case .exited(let code) where report.itemsChecked == 0:
                report.notes.append("skipped: the namespace could not be made (status \(code)): \(text.prefix(300))")
            default: report.fault("the child ended: \(status): \(text.suffix(300))")
            }
        } catch {
            report.notes.append("skipped: \(error)")
        }
        report.seconds = Double((ContinuousClock.now - start).components.seconds)
        return report
    }

    /// In the namespace: fills /dev/shm and checks creation. Returns the exit status.
    static func child(freeMiB: Int) -> Int32 {
        var faults = 0
        func say(_ line: String) { TortureRole.write(line: line) }
        func fault(_ line: String) { faults += 1; say("fault " + line) }
        let mib = 1 << 20
        // Leave 2 MiB free: a 1 MiB ring fits, a 4 MiB one does not.
        let filler = open("/dev/shm/conveyor-torture-filler", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard filler >= 0, posix_fallocate(filler, 0, off_t((freeMiB - 2) * mib)) == 0 else {
            say("could not fill /dev/shm: errno \(errno)")
            return 2
        }
        let schema = try! Schema([Field("payload", .uint8, shape: [64 * 1024])])
        // Too large: a clear error naming both sizes, and nothing left behind.
        do throws(ConveyorError) {
            _ = try SharedRing.create(schema: schema, lanes: 1, slotsPerLane: 64, naming: .named(nil))
            fault("a 4 MiB ring was created in 2 MiB of free /dev/shm")
        } catch {
            if case let .insufficientSharedMemory(needed, available, _) = error, needed > 4 * mib - mib / 2,
               let available, available < 3 * mib, error.description.contains("needs"), error.description.contains("free") {
                say("ok too large a ring: \(error)")
            } else {
                fault("too large a ring gave: \(error)")
            }
        }
        let left = ProcessResources.entries(of: "/dev/shm").filter { $0.hasPrefix(SharedRing.namePrefix) }
        if !left.isEmpty { fault("a failed creation left \(left) in /dev/shm") }
        // One that fits is usable to its last byte: every slot written, committed and read.
        do {
            let ring = try SharedRing.create(schema: schema, lanes: 1, slotsPerLane: 12, naming: .named(nil))
            let producer = try ring.producer()
            let consumer = try ring.consumer()
            for round in 0..<2 {
                for k in 0..<ring.slotsPerLane {
                    let writer = try producer.reserve(timeout: .seconds(5))
                    try writer.withMutableSpan(of: 0, as: UInt8.self) { span in
                        for index in span.indices { span[index] = UInt8(truncatingIfNeeded: k + round) }
                    }
                    try writer.commit()
                }
                for k in 0..<ring.slotsPerLane {
                    let lease = try consumer.next(timeout: .seconds(5))
                    let intact = try lease.withSpan(of: 0, as: UInt8.self) { span in
                        span.indices.allSatisfy { span[$0] == UInt8(truncatingIfNeeded: k + round) }
                    }
                    if !intact { fault("slot \(k) of the ring that fits was not intact") }
                }
            }
            say("ok a \(ring.byteCount / 1024) KiB ring in a nearly full /dev/shm: every slot written and read twice")
        } catch {
            fault("a ring that fits failed: \(error)")
        }
        // Nothing free at all: still an error, never a crash.
        var stats = statvfs()
        if statvfs("/dev/shm", &stats) == 0 {
            let free = Int(stats.f_bavail) * Int(stats.f_frsize)
            _ = posix_fallocate(filler, 0, off_t((freeMiB - 2) * mib + free))
        }
        let tiny = try! Schema([Field("x", .uint8, shape: [64])])
        do throws(ConveyorError) {
            _ = try SharedRing.create(schema: tiny, lanes: 1, slotsPerLane: 2,
                                      naming: .named(nil))
            fault("a ring was created in a full /dev/shm")
        } catch {
            if case .insufficientSharedMemory = error { say("ok a full /dev/shm: \(error)") } else { fault("a full /dev/shm gave: \(error)") }
        }
        close(filler)
        unlink("/dev/shm/conveyor-torture-filler")
        return faults == 0 ? 0 : 1
    }
}

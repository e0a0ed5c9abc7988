import Conveyor
import ConveyorTestDatasets
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The attach fuzzer's harness: one input in, one attach of a segment made
/// from it, and, when the segment is accepted, every row count and field of
/// every item read, a consumer and a producer at work. A broken promise
/// stops the process (`fatalError`), so libFuzzer and the tests see it as a
/// crash. Tests/Fuzz/run.sh compiles it with `-sanitize=fuzzer`; the torture
/// suite and the tests run it over random and kept inputs.
///
/// Input: byte 0 chooses the mode. Even: mutations of a real segment (a
/// ring with items in it, some with 0 rows): the rest is groups of 5 bytes,
/// a little-endian u32 offset (modulo the segment's size; with its top bit
/// set, applied after the attach, to the live mapping) and the byte to put
/// there. Odd: the rest is the whole segment, raw. Promises: no crash, no
/// hang, and no acceptance of a segment whose checksummed header bytes
/// were changed while the checksum was left as it was.
public enum AttachFuzz {
    /// What one input did.
    public struct Outcome: Sendable, Hashable {
        /// Whether the segment was attached.
        public var accepted: Bool
        /// Items leased and read.
        public var itemsRead: Int
    }

    /// The real segment mutations apply to, and the file segments are written to (one per process).
    private static let workspace = Mutex<Workspace?>(nil)

    private struct Workspace {
        var template: [UInt8]
        var fieldCount: Int
        var descriptor: Int32
    }

    /// Runs one input.
    public static func run(_ input: UnsafeRawBufferPointer) -> Outcome {
        workspace.withLock { space in
            if space == nil { space = makeWorkspace() }
            return run(input, in: space!)
        }
    }

    /// Runs one input given as bytes.
    public static func run(_ input: [UInt8]) -> Outcome {
        input.withUnsafeBytes { run($0) }
    }

    private static func run(_ input: UnsafeRawBufferPointer, in space: Workspace) -> Outcome {
        let mode = input.first ?? 0
        var segment: [UInt8]
        var live: [(offset: Int, value: UInt8)] = []
        var checkedChanged = false
        if mode % 2 == 1 {
            segment = input.count > 1 ? Array(input.dropFirst()) : [0]
        } else {
            segment = space.template
            var offset = 1
            while offset + 5 <= input.count {
                let raw = input.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
                let value = input[offset + 4]
                let place = Int(raw & 0x7FFF_FFFF) % segment.count
                if raw & 0x8000_0000 != 0 { live.append((place, value)) } else { segment[place] = value }
                offset += 5
            }
            let checksum = 84..<88
            let checked = [0..<84, 88..<128, 768..<(768 + 128 * space.fieldCount)]
            checkedChanged = segment[checksum] == space.template[checksum]
                && checked.contains { range in segment[range] != space.template[range] }
        }
        guard ftruncate(space.descriptor, off_t(segment.count)) == 0,
              segment.withUnsafeBytes({ pwrite(space.descriptor, $0.baseAddress, $0.count, 0) }) == segment.count
        else { fatalError("the fuzzer's own file could not be written: errno \(errno)") }
        let ring: SharedRing
        do {
            ring = try SharedRing.attach(descriptor: space.descriptor, expecting: nil)
        } catch {
            _ = error.description  // every rejection must describe itself
            return Outcome(accepted: false, itemsRead: 0)
        }
        if checkedChanged {
            fatalError("a segment whose checksummed header bytes were changed (checksum unchanged) was accepted")
        }
        for (offset, value) in live {
            var byte = value
            _ = pwrite(space.descriptor, &byte, 1, off_t(offset))
        }
        return Outcome(accepted: true, itemsRead: exercise(ring, writing: mode & 2 != 0))
    }

    /// Reads everything an attached ring offers, as a consumer would, and
    /// (when `writing`) writes an item as a producer would.
    private static func exercise(_ ring: SharedRing, writing: Bool) -> Int {
        _ = ring.info.description
        var read = 0
        if let consumer = try? ring.consumer() {
            consumer.spinTime = .zero  // nothing will come that is not there now
            for _ in 0..<(2 * ring.laneCount * ring.slotsPerLane) {
                guard let lease = try? consumer.next(timeout: .zero) else { continue }
                for field in ring.schema.fields.indices {
                    guard let rows = try? lease.rows(of: field) else { continue }
                    let bytes = (try? lease.withUnsafeBytes(of: field) { bytes in
                        bytes.reduce(0) { $0 &+ Int($1) }
                    }) ?? 0
                    _ = rows &+ bytes
                }
                read += 1
            }
        }
        if writing, let producer = try? ring.producer(), var writer = try? producer.reserve(timeout: .zero) {
            for (index, field) in ring.schema.fields.enumerated() {
                try? writer.setRows(field.maxRows / 2, of: index)
            }
            try? writer.commit()
        }
        return read
    }

    /// The template: a real ring with committed items of several sizes
    /// (0 rows included), one leased and released; and the file to write to.
    private static func makeWorkspace() -> Workspace {
        do {
            let schema = try Schema([
                Field("f", .float32, shape: [8]), Field("t", .uint8, shape: [3, 2]), Field("s", .int64, shape: []),
            ])
            let ring = try SharedRing.create(schema: schema, lanes: 2, slotsPerLane: 2)
            let producer = try ring.producer()
            for k in 0..<2 {
                var writer = try producer.reserve(timeout: .seconds(1))
                try writer.setRows(k == 0 ? 0 : 8, of: 0)
                try writer.setRows(k, of: 1)
                try writer.commit()
            }
            let consumer = try ring.consumer()
            try consumer.next(timeout: .seconds(1)).release()  // positions move off zero
            var writer = try producer.reserve(timeout: .seconds(1))
            try writer.setRows(3, of: 1)
            try writer.commit()
            var template = [UInt8](repeating: 0, count: ring.byteCount)
            let count = template.withUnsafeMutableBytes { pread(ring.descriptor, $0.baseAddress, $0.count, 0) }
            guard count == ring.byteCount else { fatalError("the template ring could not be read") }
            // The template's lane owner and consumer are this process: they stay as found.
            var path = Array("/tmp/conveyor-fuzz-XXXXXX".utf8CString)
            let descriptor = mkstemp(&path)
            guard descriptor >= 0 else { fatalError("no temporary file for the fuzzer: errno \(errno)") }
            unlink(path.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            return Workspace(template: template, fieldCount: schema.fields.count, descriptor: descriptor)
        } catch {
            fatalError("the fuzzer's template ring could not be made: \(error)")
        }
    }
}

/// The torture suite's part for the fuzzer: random inputs from a seeded
/// generator (mutations of the real segment, mostly, and raw bytes), each
/// bounded in time; the coverage-guided run is Tests/Fuzz/run.sh.
public enum AttachFuzzTorture {
    /// An input still running after this long is a hang. Generous on
    /// purpose: an input takes microseconds, but a loaded machine can stall
    /// a thread for more than a second, and this is a hang check, not a speed test.
    static let slowest: Duration = .seconds(30)

    /// Runs inputs until the settings' rounds (executions) or budget are spent.
    public static func run(_ settings: TortureSettings) -> TortureReport {
        _ = AttachFuzz.run([0])  // makes the harness's template and file before the resources are first read
        return TortureReport.measuring(.attachFuzz, settings) { report, random, start in
            var accepted = 0
            var itemsRead = 0
            var worst: Duration = .zero
            while report.executions % 1024 != 0 || settings.mayContinue(round: report.executions, since: start) {
                let input = randomInput(&random)
                let began = ContinuousClock.now
                let outcome = AttachFuzz.run(input)
                let took = ContinuousClock.now - began
                worst = max(worst, took)
                if took > slowest { report.fault("an input took \(took) (a hang): \(input)") }
                if outcome.accepted { accepted += 1 }
                itemsRead += outcome.itemsRead
                report.executions += 1
                if let rounds = settings.rounds, report.executions >= rounds { break }
            }
            report.rounds = report.executions
            report.itemsChecked = itemsRead
            report.notes.append("accepted \(accepted) of \(report.executions) segments; slowest input \(worst)")
        return
        }
    }

    /// An input: a few mutations of the real segment (most often), or raw bytes.
    static func randomInput(_ random: inout SeededRandom) -> [UInt8] {
        let kind = random.next() % 8
        if kind == 0 {
            let count = Int(random.next() % 6000)
            return [1] + (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        }
        var input: [UInt8] = [UInt8(truncatingIfNeeded: random.next() & 2)]
        for _ in 0..<(1 + random.next() % 6) {
            // Mostly the header and the lane and slot headers, where the numbers are.
            var offset = UInt32(truncatingIfNeeded: random.next() % (random.next() % 2 == 0 ? 1024 : 16384))
            if random.next() % 4 == 0 { offset |= 0x8000_0000 }
            withUnsafeBytes(of: offset.littleEndian) { input += $0 }
            input.append(UInt8(truncatingIfNeeded: random.next()))
        }
        return input
    }
}

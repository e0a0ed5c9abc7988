import CConveyor
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension BenchCatalog {
    /// `machine`: what this machine does at the moment of the run, so that a
    /// reader can tell a slow row of ours from a slow moment of the machine.
    /// In a VM both figures change with where the host runs the virtual
    /// processors and what its other guests do: on the 2-core KVM guest this
    /// was written on, a cache line's trip between the two cores took ~45 ns
    /// for minutes and then ~220 ns for seconds, and one thread filling 4 MiB
    /// buffers in turn over 10 of them (40 MiB, more than the 32 MiB L3 the
    /// host shares) wrote ~90 GB/s with string stores (what the scenarios'
    /// producers use) and 45–65 GB/s with a compiled loop, which reads each
    /// line before it writes it.
    static var machineScenarios: [BenchScenario] {
        [
            BenchScenario(name: "machine",
                          summary: "this machine now: a cache line's trip between processors 0 and 1, and filling 4 MiB buffers") { _ in
                [
                    MachineProbe.coreToCore(), MachineProbe.fill(buffers: 10), MachineProbe.fill(buffers: 10, loop: true),
                    MachineProbe.fill(buffers: 2),
                ]
            },
        ]
    }
}

/// The measurements of the `machine` scenario.
enum MachineProbe {
    /// Round trips of one probe.
    static let roundTrips = 20_000

    /// Two threads, pinned to processors 0 and 1, pass a counter back and
    /// forth through one cache line; five probes, the row's figure is the
    /// median one-way trip (the note has all five).
    static func coreToCore() -> BenchRow {
        let processors = ProcessInfo.processInfo.activeProcessorCount
        var oneWay: [Double] = []
        for _ in 0..<5 {
            let line = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 128)
            line.initializeMemory(as: Atomic<Int>.self, to: Atomic(0))
            let address = UInt(bitPattern: line)
            let seconds = BenchSupport.onThreads(2) { side -> Double in
                if processors >= 2 { pin(toProcessor: side) }
                let counter = UnsafeMutableRawPointer(bitPattern: address)!.assumingMemoryBound(to: Atomic<Int>.self)
                let start = BenchSupport.now()
                for trip in 0..<roundTrips {
                    // Side 0 sends 2·trip + 1 and waits for 2·trip + 2, which side 1 sends back.
                    let ping = 2 * trip + 1
                    if side == 0 {
                        counter.pointee.store(ping, ordering: .releasing)
                        while counter.pointee.load(ordering: .acquiring) != ping + 1 {}
                    } else {
                        while counter.pointee.load(ordering: .acquiring) != ping {}
                        counter.pointee.store(ping + 1, ordering: .releasing)
                    }
                }
                return BenchSupport.now() - start
            }[0]
            oneWay.append(seconds / Double(2 * roundTrips) * 1e9)
            line.deallocate()
        }
        let sorted = oneWay.sorted()
        var row = BenchRow(scenario: "machine", impl: "cache line between processors 0 and 1", items: 2 * roundTrips,
                           itemBytes: 8, workers: 2, seconds: sorted[2] * Double(2 * roundTrips) / 1e9)
        row.note = "one-way trip \(Int(sorted[2].rounded())) ns (median of 5 probes: "
            + oneWay.map { "\(Int($0.rounded()))" }.joined(separator: ", ") + " ns)"
            + (processors >= 2 ? "" : "; one processor: not pinned")
        return row
    }

    /// One thread fills `buffers` buffers of 4 MiB in turn with a float, 100
    /// fills in all, as a ring-4m producer fills its slots (`ItemFill`'s
    /// string store), or with a compiled loop (`loop`).
    static func fill(buffers: Int, loop: Bool = false) -> BenchRow {
        let floats = 1 << 20, fills = 100
        let memory = (0..<buffers).map { _ -> UnsafeMutableBufferPointer<Float> in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: floats)
            buffer.initialize(repeating: 0)
            return buffer
        }
        defer { memory.forEach { $0.deallocate() } }
        let start = BenchSupport.now()
        for k in 0..<fills {
            if loop { memory[k % buffers].update(repeating: Float(k)) } else { ItemFill.fill(memory[k % buffers], with: Float(k)) }
        }
        let seconds = BenchSupport.now() - start
        let how = loop ? "a compiled loop" : "string stores"
        var row = BenchRow(scenario: "machine", impl: "fill \(buffers) × 4 MiB in turn, \(how)", items: fills,
                           itemBytes: floats * 4, workers: 1, seconds: seconds)
        row.note = "\(buffers * 4) MiB written over and over: MB_per_s is this processor's fill speed now"
        return row
    }

    /// Pins the calling thread to one processor.
    static func pin(toProcessor processor: Int) {
        _ = cconveyor_pin_thread(Int32(processor))
    }
}

import ConveyorTestDatasets
import ConveyorTorture
import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

extension SharedRingTests {
    /// The torture suite's short form: each part run briefly from the tests,
    /// with the torture program as the child processes; and the fuzzer's kept
    /// inputs as regression tests. `conveyor-torture --minutes N` runs it long.
    @Suite struct TortureTests {
        static let executable = builtProduct(named: "conveyor-torture")

        static func settings(rounds: Int, seconds: Int64 = 60) -> TortureSettings {
            TortureSettings(seed: UInt64(getpid()), budget: .seconds(seconds), rounds: rounds, executable: executable)
        }

        static func expectNoFaults(_ report: TortureReport) {
            print(report)
            #expect(report.faults.isEmpty, "\(report)")
        }

        @Test func producersKilledAtRandomInstants() throws {
            let rounds = getenv("CONVEYOR_KILL_ROUNDS").flatMap { Int(String(cString: $0)) } ?? 60
            try expectNoLeaks {
                let report = TortureSuite.run(.ringKill, Self.settings(rounds: rounds))
                Self.expectNoFaults(report)
                #expect(report.rounds == rounds && report.kills > 0 && report.itemsChecked > 0)
            }
        }

        @Test func consumersKilled() throws {
            try expectNoLeaks {
                let report = TortureSuite.run(.consumerKill, Self.settings(rounds: 4))
                Self.expectNoFaults(report)
                // One per round, and a lease holder's with its live consumer attached before and after the kill
                // (their losses or stalls are faults).
                #expect(report.rounds == 4 && report.kills == 6 && report.itemsChecked > 0)
            }
        }

        @Test func loaderWorkersKilledStoppedAndCrashed() throws {
            try expectNoLeaks {
                let report = TortureSuite.run(.loaderKill, Self.settings(rounds: 6))
                Self.expectNoFaults(report)
                #expect(report.rounds == 6 && report.itemsChecked > 0)
            }
        }

        @Test func soakWithResetsAndRestarts() throws {
            try expectNoLeaks {
                let report = TortureSuite.run(.soak, Self.settings(rounds: 1, seconds: 4))
                Self.expectNoFaults(report)
                #expect(report.itemsChecked > 0 && report.resources != nil)
            }
        }

        @Test func aNearlyFullDevShmGivesAClearErrorNotSIGBUS() {
            let report = TortureSuite.run(.shmFull, Self.settings(rounds: 1))
            Self.expectNoFaults(report)
            // Where no mount namespace can be made (not root), the part says it skipped.
            #expect(report.itemsChecked == 3 || report.notes.contains { $0.hasPrefix("skipped") })
        }

        @Test func randomAttachInputs() {
            let report = TortureSuite.run(.attachFuzz, Self.settings(rounds: 3000))
            Self.expectNoFaults(report)
            #expect(report.executions == 3000)
        }

        /// Every input libFuzzer kept (Tests/Fuzz/corpus) and every crash it
        /// found (Tests/Fuzz/crashes) goes through the harness again.
        @Test func keptFuzzInputsStillPass() throws {
            let directory = fuzzDirectory
            var outcomes: [AttachFuzz.Outcome] = []
            for folder in ["corpus", "crashes"] {
                for name in SystemCalls.directoryEntries(directory + "/" + folder) where !name.hasPrefix(".") {
                    guard let bytes = SystemCalls.readSmallFile(directory + "/\(folder)/\(name)", limit: 1 << 20) else { continue }
                    outcomes.append(AttachFuzz.run(bytes))
                }
            }
            #expect(outcomes.count >= 20)
            #expect(outcomes.contains { $0.accepted } && outcomes.contains { !$0.accepted })
            #expect(outcomes.contains { $0.itemsRead > 0 })
        }

        /// A real segment with one checksummed header byte set to another
        /// value is never accepted (the harness also stops the process if it is).
        @Test func everyChecksummedHeaderByteIsChecked() {
            let checked = Array(0..<84) + Array(88..<128) + Array(768..<(768 + 3 * 128))
            for offset in checked {
                let outcomes = [UInt8(0x00), 0xA5].map { value in
                    var input: [UInt8] = [0]
                    withUnsafeBytes(of: UInt32(offset).littleEndian) { input += $0 }
                    input.append(value)
                    return AttachFuzz.run(input)
                }
                #expect(!(outcomes[0].accepted && outcomes[1].accepted), "byte \(offset) is not checked")
            }
            #expect(AttachFuzz.run([0]).accepted, "the unmutated segment is accepted")
        }

        var fuzzDirectory: String {
            let file = #filePath
            let tests = file[..<file.range(of: "/ConveyorTests/Torture/")!.lowerBound]
            return String(tests) + "/Fuzz"
        }
    }
}

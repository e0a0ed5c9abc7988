import Synchronization
import Testing
@testable import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// The Python peer written from docs/FORMAT.md alone: Tests/ForeignPeers/format_peer.py.
let formatPeerPath: String = {
    // This file is Tests/ConveyorTests/SharedRing/RingForeignPeerTests.swift.
    var path = "\(#filePath)"
    for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
    return path + "/ForeignPeers/format_peer.py"
}()

/// The helper's `--schema mixed` (its Mixed.schema): five dtypes, ranks 0 to 3,
/// first dimensions that vary per item, odd sizes that need padding.
func mixedSchema() throws -> Schema {
    try Schema([Field("image", .float32, shape: [3, 4, 5]),
                Field("label", .int32, shape: []),
                Field("tokens", .uint8, shape: [37]),
                Field("half", .float16, shape: [6, 3]),
                Field("ids", .int64, shape: [5, 2])])
}

extension SharedRingTests {
    /// FORMAT.md's promise, tested: a program in another language (Python with
    /// numpy, never looking at the Swift sources) reads and writes the ring.
    /// Python and numpy are required; a machine without them fails here.
    @Suite struct RingForeignPeerTests {
        /// Runs the Python peer with `arguments` (python3 found on $PATH).
        func python(_ arguments: [String]) throws -> HelperProcess {
            #expect(access(formatPeerPath, R_OK) == 0, "no Python peer at \(formatPeerPath)")
            return try HelperProcess(["python3", formatPeerPath] + arguments, executable: "/usr/bin/env")
        }

        /// The lines the peer prints for the ring's field table, as the Swift layout computes them.
        func fieldLines(_ ring: SharedRing) -> [String] {
            ring.schema.fields.indices.map { index in
                let field = ring.schema.fields[index]
                return "field \(field.name) \(field.dtype) [\(field.shape.map(String.init).joined(separator: ","))] "
                    + "offset \(ring.layout.fieldOffsets[index])"
            }
        }

        func expectExit(_ process: HelperProcess, _ status: ChildProcess.ExitStatus, _ what: String) throws {
            let ended = try process.child.wait(timeout: .seconds(60))
            #expect(ended == status, "\(what): \(process.stdout) \(process.stderr)")
        }

        @Test func pythonReadsWhatSwiftWritesAndSwiftReadsWhatPythonWrites() throws {
            try expectNoLeaks {
                // 4 slots a lane and 25 items: both directions wrap and wait for space.
                let ring = try SharedRing.create(schema: mixedSchema(), lanes: 2, slotsPerLane: 4, naming: .named(nil))
                let name = try #require(ring.name)

                // Swift producer -> Python consumer, running side by side.
                let producer = try HelperProcess(["produce", "--schema", "mixed", "--name", name,
                                                  "--lane", "0", "--start", "0", "--count", "25"])
                let reader = try python(["read", "--name", name, "--lane", "0", "--start", "0", "--count", "25"])
                // The reader first: one that refuses the ring (another format version) ends at once, and
                // the test stops there (the producer it left waiting for a consumer is killed on the way out).
                let readerEnded = try reader.child.wait(timeout: .seconds(60))
                try #require(readerEnded == .exited(0), "Python reader: \(reader.stdout) \(reader.stderr)")
                try expectExit(producer, .exited(0), "Swift producer")
                let readLines = reader.stdout.split(separator: "\n").map(String.init)
                #expect(Array(readLines.prefix(5)) == fieldLines(ring))
                #expect(readLines.last == "read 25 intact 25", "\(reader.stdout) \(reader.stderr)")
                // The reader released every slot and left the consumer table.
                #expect(ring.info.lanes[0].consumed == 25 && ring.info.lanes[0].depth == 0)
                #expect(ring.info.consumerPIDs.isEmpty)
                // It counted itself in consumersEver with FUTEX_WAKE_OP's atomic add.
                #expect(ring.memory.consumersEver.pointee.load(ordering: .acquiring) == 1)
                // ...and in consumerChanges, once registering and once leaving.
                #expect(ring.memory.consumerChanges.pointee.load(ordering: .acquiring) == 2)

                // Python producer -> Swift consumer. The consumer attaches first and waits.
                let consumer = try HelperProcess(["consume", "--schema", "mixed", "--name", name,
                                                  "--start", "1000", "--count", "25"])
                let deadline = ContinuousClock.now + .seconds(30)
                while ring.info.consumerPIDs != [consumer.pid], consumer.child.isRunning, ContinuousClock.now < deadline {
                    usleep(1000)
                }
                #expect(ring.info.consumerPIDs == [consumer.pid], "\(consumer.stderr)")
                let dataSequence = { UInt32(littleEndian: ring.memory.base.load(
                    fromByteOffset: RingLayout.Header.dataSequence, as: UInt32.self)) }
                let sequenceBefore = dataSequence()
                let writer = try python(["produce", "--name", name, "--start", "1000", "--count", "25"])
                try expectExit(writer, .exited(0), "Python producer")
                try expectExit(consumer, .exited(0), "Swift consumer")
                #expect(writer.stdout.contains("claimed lane 0\n"))
                #expect(writer.stdout.hasSuffix("produced 25\n"), "\(writer.stdout) \(writer.stderr)")
                #expect(consumer.stdout == "consumed 25 corrupt 0\n", "\(consumer.stdout) \(consumer.stderr)")
                // The Python producer notified once per item (an atomic add and a wake); nobody else did
                // (the one consumer notifies as it takes or releases only when another consumer sleeps).
                #expect(dataSequence() &- sequenceBefore == 25)
                // The Python producer released its lane; the head it kept is the lane's.
                let lane = ring.info.lanes[0]
                #expect(lane.producerPID == nil && lane.committed == 50 && lane.consumed == 50)
            }
        }

        /// The peer ends its stream as FORMAT.md says (the finished bit, then a
        /// wake): a Swift consumer gets its items, then the end, and no death.
        @Test func aPythonProducerThatFinishesEndsTheStream() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: mixedSchema(), lanes: 1, slotsPerLane: 4,
                                                 naming: .named(privateSegmentName()))
                let consumer = try ring.consumer()
                // A peer that refuses the ring (another format version) never produces: fail within 30 s.
                consumer.firstItemTimeout = .seconds(30)
                let writer = try python(["produce", "--name", ring.name!, "--count", "9", "--finish", "1"])
                var items = 0
                while let lease = try consumer.nextItem(timeout: .seconds(30), coldBoot: true) {
                    #expect(try lease.rows(of: "label") == 1)
                    items += 1
                }
                try expectExit(writer, .exited(0), "Python producer")
                #expect(items == 9)
                #expect(ring.info.lanes[0].finished && ring.info.lanes[0].committed == 9)
            }
        }

        @Test func pythonValidatesTheHeaderAsFormatMdSays() throws {
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: mixedSchema(), lanes: 3, slotsPerLane: 5, naming: .named(nil))
                let name = try #require(ring.name)
                let valid = try python(["check", "--name", name])
                try expectExit(valid, .exited(0), "check")
                #expect(valid.stdout == (fieldLines(ring) + ["valid lanes 3 slots 5"]).joined(separator: "\n") + "\n")

                let base = ring.memory.base
                // A flipped byte in the field table: the checksum catches it.
                base.storeBytes(of: 4, toByteOffset: RingLayout.fieldEntryOffset(0) + RingLayout.FieldEntry.dimensions,
                                as: UInt8.self)
                let flipped = try python(["check", "--name", name])
                try expectExit(flipped, .exited(2), "flipped byte")
                #expect(flipped.stderr.contains("checksum"))
                #expect(throws: ConveyorError.self) { _ = try SharedRing.attach(name: name, expecting: nil) }

                // A consistent checksum over an impossible slot size: the layout rules catch it.
                base.storeBytes(of: 3, toByteOffset: RingLayout.fieldEntryOffset(0) + RingLayout.FieldEntry.dimensions,
                                as: UInt8.self)
                let slotBytes = base.load(fromByteOffset: RingLayout.Header.slotBytes, as: UInt64.self)
                base.storeBytes(of: slotBytes + 64, toByteOffset: RingLayout.Header.slotBytes, as: UInt64.self)
                base.storeBytes(of: RingLayout.checksum(UnsafeRawPointer(base), fieldCount: 5),
                                toByteOffset: RingLayout.Header.checksum, as: UInt32.self)
                let resized = try python(["check", "--name", name])
                try expectExit(resized, .exited(2), "wrong slot size")
                #expect(resized.stderr.contains("slotBytes"), "\(resized.stderr)")
                #expect(throws: ConveyorError.self) { _ = try SharedRing.attach(name: name, expecting: nil) }
            }
        }
    }
}

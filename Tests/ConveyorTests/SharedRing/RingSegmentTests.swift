import Testing
@testable import Conveyor

extension SharedRingTests {
    /// Attaching validates everything: foreign, truncated, other-version,
    /// corrupted and mismatched segments each give their own error, never a crash.
    @Suite struct RingSegmentTests {
        /// A memfd holding exactly `bytes`.
        func segment(holding bytes: [UInt8]) throws -> SharedSegment {
            let segment = try SharedSegment.createAnonymous(size: max(1, bytes.count), label: "conveyor-ring-test")
            bytes.withUnsafeBytes { segment.base.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            return segment
        }

        /// The bytes of a fresh ring.
        func ringBytes(lanes: Int = 2, slots: Int = 2) throws -> [UInt8] {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: lanes, slotsPerLane: slots)
            return Array(UnsafeRawBufferPointer(start: ring.memory.base, count: ring.byteCount))
        }

        func attach(_ bytes: [UInt8], expecting schema: Schema? = nil) throws -> SharedRing {
            let segment = try segment(holding: bytes)
            return try SharedRing.attach(descriptor: segment.descriptor, expecting: schema)
        }

        @Test func aValidRingAttaches() throws {
            let ring = try attach(ringBytes(), expecting: helperSchema())
            #expect(ring.laneCount == 2 && ring.slotsPerLane == 2)
            #expect(ring.schema == (try helperSchema()))
        }

        /// An anonymous segment's size is sealed: a process holding its
        /// descriptor cannot shrink it under the others' mappings (SIGBUS).
        @Test func anAnonymousSegmentCannotBeResized() throws {
            let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2)
            #expect(throws: ConveyorError.systemCall(name: "ftruncate", errno: EPERM)) {
                try SystemCalls.truncate(ring.descriptor, size: 4096)
            }
            #expect(throws: ConveyorError.systemCall(name: "ftruncate", errno: EPERM)) {
                try SystemCalls.truncate(ring.descriptor, size: ring.byteCount * 2)
            }
            #expect(try SystemCalls.fileSize(ring.descriptor) == ring.byteCount)
        }

        @Test func randomBytesAreAForeignSegment() throws {
            var generator = SeededRandom(seed: 1)
            let bytes = (0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect {
                _ = try attach(bytes)
            } throws: { error in
                guard case ConveyorError.foreignSegment = error else { return false }
                return true
            }
        }

        @Test func anotherVersionIsAVersionMismatch() throws {
            var bytes = try ringBytes()
            bytes[RingLayout.Header.version] = 7
            #expect(throws: ConveyorError.versionMismatch(found: 7, expected: RingLayout.version)) { _ = try attach(bytes) }
        }

        /// Versions 1 to 3 (their consumers took items with another protocol) are refused, not mixed.
        @Test func earlierVersionsAreRefused() throws {
            #expect(RingLayout.version == 4)
            for version: UInt8 in 1...3 {
                var bytes = try ringBytes()
                bytes[RingLayout.Header.version] = version
                #expect(throws: ConveyorError.versionMismatch(found: UInt32(version), expected: 4)) { _ = try attach(bytes) }
            }
        }

        @Test func anotherSchemaIsASchemaMismatch() throws {
            let bytes = try ringBytes()
            #expect {
                _ = try attach(bytes, expecting: helperSchema(floats: 65))
            } throws: { error in
                guard case let ConveyorError.schemaMismatch(expected, found) = error else { return false }
                return expected.contains("f32[65]") && found.contains("f32[64]")
            }
        }

        @Test func truncatedSegmentsAreCorrupt() throws {
            let bytes = try ringBytes()
            for length in [4, 100, RingLayout.fieldTableOffset + 10, bytes.count / 2, bytes.count - 1] {
                #expect(length < bytes.count)
                #expect {
                    _ = try attach(Array(bytes.prefix(length)))
                } throws: { error in
                    guard case let ConveyorError.corruptSegment(detail) = error else { return false }
                    return detail.contains("truncated") || detail.contains("fewer")
                }
            }
        }

        @Test func aChangedHeaderByteIsCorrupt() throws {
            var bytes = try ringBytes()
            bytes[RingLayout.Header.slotsPerLane] &+= 1
            #expect {
                _ = try attach(bytes)
            } throws: { error in
                guard case let ConveyorError.corruptSegment(detail) = error else { return false }
                return detail.contains("checksum")
            }
        }

        @Test func aConsistentButImpossibleHeaderIsCorrupt() throws {
            var bytes = try ringBytes()
            // Break the layout and re-seal the checksum: validation must recompute every size.
            bytes[RingLayout.Header.slotBytes] &+= 64
            bytes.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: RingLayout.checksum(UnsafeRawPointer(raw.baseAddress!), fieldCount: 2).littleEndian,
                               toByteOffset: RingLayout.Header.checksum, as: UInt32.self)
            }
            #expect {
                _ = try attach(bytes)
            } throws: { error in
                guard case let ConveyorError.corruptSegment(detail) = error else { return false }
                return detail.contains("slot size")
            }
        }

        /// Any byte of a valid header changed to anything: attach throws or
        /// succeeds, and never crashes; changes to the immutable part always throw.
        @Test func mutatedHeadersNeverCrash() throws {
            let original = try ringBytes()
            var generator = SeededRandom(seed: 2)
            let headerEnd = RingLayout.fieldEntryOffset(2)
            for _ in 0..<400 {
                var bytes = original
                let offset = Int.random(in: 0..<headerEnd, using: &generator)
                let value = UInt8.random(in: 0...255, using: &generator)
                guard value != bytes[offset] else { continue }
                bytes[offset] = value
                let immutable = offset < RingLayout.Header.immutableBytes || offset >= RingLayout.fieldTableOffset
                do {
                    _ = try attach(bytes)
                    #expect(!immutable, "a change at byte \(offset) went unnoticed")
                } catch {
                    #expect(error is ConveyorError)
                }
            }
        }

        @Test func emptyAndMissingSegmentsAreClearErrors() throws {
            let empty = try SharedSegment.createAnonymous(size: 1, label: "conveyor-ring-test")
            empty.base.storeBytes(of: 0, as: UInt8.self)
            #expect(throws: ConveyorError.self) { _ = try SharedRing.attach(descriptor: empty.descriptor, expecting: nil) }
            #expect {
                _ = try SharedRing.attach(name: "conveyor-ring-no-such-segment", expecting: nil)
            } throws: { error in
                guard case ConveyorError.unavailable = error else { return false }
                return true
            }
            #expect(throws: ConveyorError.self) { _ = try SharedRing.attach(name: "../etc/passwd", expecting: nil) }
            #expect(throws: ConveyorError.self) { _ = try SharedRing.attach(descriptor: -1, expecting: nil) }
        }

        @Test(arguments: [SharedRing.Naming.anonymous, .named(nil)])
        func tooLittleSharedMemoryIsAnErrorAtCreation(naming: SharedRing.Naming) throws {
            // 16 TiB: more than any machine running the tests has free.
            let schema = try Schema([Field("x", .uint8, shape: [1 << 42])])
            try expectNoLeaks {
                #expect {
                    _ = try SharedRing.create(schema: schema, lanes: 2, slotsPerLane: 2, naming: naming)
                } throws: { error in
                    guard case let ConveyorError.insufficientSharedMemory(needed, _, _) = error else { return false }
                    return needed > 1 << 44 && "\(error)".contains("needs 16.0 TiB")
                }
            }
        }

        @Test func namedRingsAreUnguessableAndUnlinkedByTheirCreator() throws {
            var name = ""
            try expectNoLeaks {
                let ring = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2, naming: .named(nil))
                name = ring.name ?? ""
                #expect(name.hasPrefix(SharedRing.namePrefix + "\(SystemCalls.processID())-"))
                #expect(name.count == SharedRing.namePrefix.count + "\(SystemCalls.processID())-".count + 16)
                #expect(SharedSegment.namedSegments(prefix: name) == [name])
                let attached = try SharedRing.attach(name: name, expecting: helperSchema())
                #expect(attached.byteCount == ring.byteCount)
                // Only the owner may read or write it.
                let mode = try fileMode("/dev/shm/" + name)
                #expect(mode & 0o777 == 0o600)
                #expect(throws: ConveyorError.self) {
                    _ = try SharedRing.create(schema: helperSchema(), lanes: 1, slotsPerLane: 2, naming: .named(name))
                }
            }
            #expect(SharedSegment.namedSegments(prefix: name).isEmpty)
        }

        func fileMode(_ path: String) throws -> UInt32 {
            var info = stat()
            guard stat(path, &info) == 0 else { throw HelperFailure(message: "stat \(path) failed") }
            return info.st_mode
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// A small dataset for the process-backend tests, describable (so worker
/// processes make it) and able to misbehave on purpose. Sample `i`:
/// "value" i64[2] = [i, a draw from the context's generator for i] (so
/// augmentation randomness shows), "tokens" i32[8] with 1 + i % 8 rows, each `i`.
public struct ProbeDataset: SchemaDataset, DatasetDescription, Hashable {
    public var count: Int
    /// Throws at this index.
    public var failAt: Int?
    /// Ends the whole process with `exitCode` at this index.
    public var exitAt: Int?
    public var exitCode: Int32
    /// Sleeps this long per sample.
    public var sleepMicroseconds: Int

    public init(count: Int, failAt: Int? = nil, exitAt: Int? = nil, exitCode: Int32 = 3, sleepMicroseconds: Int = 0) {
        self.count = count
        self.failAt = failAt
        self.exitAt = exitAt
        self.exitCode = exitCode
        self.sleepMicroseconds = sleepMicroseconds
    }

    public static var typeName: String { "ProbeDataset" }

    public func makeDataset() throws -> ProbeDataset { self }

    public var schema: Schema {
        try! Schema([Field("value", .int64, shape: [2]), Field("tokens", .int32, shape: [8])])
    }

    public func sample(at index: Int) throws -> Sample {
        throw ConveyorError.unavailable("ProbeDataset writes its samples in place only")
    }

    public struct ProbeFailure: Error, CustomStringConvertible {
        public var index: Int
        public var description: String { "probe failure at \(index)" }
    }

    public func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
        if sleepMicroseconds > 0 { usleep(UInt32(sleepMicroseconds)) }
        if index == failAt { throw ProbeFailure(index: index) }
        if index == exitAt { exit(exitCode) }
        var random = context.random(for: index)
        let draw = Int64(bitPattern: random.next())
        writer.withBytes(ofField: 0) { bytes in
            bytes.storeBytes(of: Int64(index), toByteOffset: 0, as: Int64.self)
            bytes.storeBytes(of: draw, toByteOffset: 8, as: Int64.self)
        }
        let rows = 1 + index % 8
        try writer.setRows(rows, ofField: 1)
        writer.withBytes(ofField: 1) { bytes in
            for row in 0..<rows { bytes.storeBytes(of: Int32(index), toByteOffset: row * 4, as: Int32.self) }
        }
    }
}

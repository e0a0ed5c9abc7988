import Conveyor

#if canImport(Glibc)
import Glibc
#endif

/// A small dataset for the process-backend tests, describable (so worker
/// processes make it) and able to misbehave on purpose. Sample `i`:
/// "value" i64[2] = [i, a draw from the context's generator for i] (so
/// augmentation randomness shows), "tokens" i32[8] with 1 + i % 8 rows, each `i`.
public struct ProbeDataset: SchemaDataset, DatasetDescription, Hashable {
    /// The number of samples.
    public var count: Int
    /// Throws at this index.
    public var failAt: Int?
    /// Ends the whole process with `exitCode` at this index.
    public var exitAt: Int?
    /// The status of that exit.
    public var exitCode: Int32
    /// Raises `signal` in its process at this index.
    public var signalAt: Int?
    /// The signal of that crash: SIGSEGV and SIGBUS are real faults.
    public var signal: Int32
    /// Sleeps this long per sample.
    public var sleepMicroseconds: Int

    /// A probe of `count` samples; see the properties for the misbehaviours.
    public init(
        count: Int, failAt: Int? = nil, exitAt: Int? = nil, exitCode: Int32 = 3, signalAt: Int? = nil,
        signal: Int32 = SIGSEGV, sleepMicroseconds: Int = 0
    ) {
        self.count = count
        self.failAt = failAt
        self.exitAt = exitAt
        self.exitCode = exitCode
        self.signalAt = signalAt
        self.signal = signal
        self.sleepMicroseconds = sleepMicroseconds
    }

    /// "ProbeDataset".
    public static var typeName: String { "ProbeDataset" }

    /// Itself.
    public func makeDataset() throws -> ProbeDataset { self }

    /// A real fault, as a bug would make (a raised signal would return from
    /// the Swift runtime's crash handler and go on): SIGSEGV from a bad
    /// pointer, SIGBUS from touching a mapping past its file's end, as a full
    /// /dev/shm makes; any other signal is sent to this process.
    private func crash(with signal: Int32) {
        switch signal {
        case SIGSEGV:
            UnsafeMutablePointer<Int>(bitPattern: 8)!.pointee = 1
        case SIGBUS:
            var template = Array("/tmp/conveyor-probe-XXXXXX".utf8CString)
            let fd = mkstemp(&template)
            unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            let memory = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
            memory.storeBytes(of: 1, as: UInt8.self)  // the file is empty: SIGBUS
        default:
            kill(getpid(), signal)
        }
    }

    /// {value: i64[2], tokens: i32[8]}.
    public var schema: Schema {
        try! Schema([Field("value", .int64, shape: [2]), Field("tokens", .int32, shape: [8])])
    }

    /// Not available: the probe writes in place only.
    public func sample(at index: Int) throws -> Sample {
        throw ConveyorError.unavailable("ProbeDataset writes its samples in place only")
    }

    /// What `failAt` throws.
    public struct ProbeFailure: Error, CustomStringConvertible {
        /// The index it failed at.
        public var index: Int
        /// "probe failure at INDEX".
        public var description: String { "probe failure at \(index)" }
    }

    /// Writes sample `index`, or misbehaves as configured.
    public func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
        if sleepMicroseconds > 0 { usleep(UInt32(sleepMicroseconds)) }
        if index == failAt { throw ProbeFailure(index: index) }
        if index == exitAt { exit(exitCode) }
        if index == signalAt { crash(with: signal) }
        var random = context.random(for: index)
        let draw = Int64(bitPattern: random.next())
        writer.withUnsafeMutableBytes(of: 0) { bytes in
            bytes.storeBytes(of: Int64(index), toByteOffset: 0, as: Int64.self)
            bytes.storeBytes(of: draw, toByteOffset: 8, as: Int64.self)
        }
        let rows = 1 + index % 8
        try writer.setRows(rows, of: 1)
        writer.withUnsafeMutableBytes(of: 1) { bytes in
            for row in 0..<rows { bytes.storeBytes(of: Int32(index), toByteOffset: row * 4, as: Int32.self) }
        }
    }
}

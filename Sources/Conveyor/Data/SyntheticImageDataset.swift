import Synchronization

/// An image-like dataset made up on the fly, for demos and benchmarks:
/// sample `i` has an "image" (u8, height × width × channels) whose pixels
/// depend only on (seed, i), and a "label" (i64, one of `classes`). Each
/// sample can cost CPU time (real arithmetic, as decoding or augmenting
/// would) and sleep time (as waiting on storage would).
///
/// ```swift
/// let images = try SyntheticImageDataset(count: 10_000, height: 64, width: 64, workPerSample: 20_000)
/// ```
///
/// Its properties are read-only and checked by the initializer, decoding
/// included: a description decoded with a zero size or a negative cost throws
/// rather than making a dataset that would trap later.
public struct SyntheticImageDataset: SchemaDataset, Codable, Hashable {
    /// The number of samples.
    public private(set) var count: Int
    /// Image height in pixels.
    public private(set) var height: Int
    /// Image width in pixels.
    public private(set) var width: Int
    /// Channels per pixel.
    public private(set) var channels: Int
    /// Labels are in `0..<classes`.
    public private(set) var classes: Int
    /// The seed the pixels and labels derive from.
    public private(set) var seed: UInt64
    /// Rounds of integer mixing each sample costs (a round is a few nanoseconds).
    public private(set) var workPerSample: Int
    /// Nanoseconds each sample sleeps (the JSON key of the description process workers and Python send).
    public private(set) var sleepNanosecondsPerSample: Int64
    /// {image: u8[height, width, channels], label: i64[]}, made by the initializer.
    public let schema: Schema

    private enum CodingKeys: String, CodingKey {
        case count, height, width, channels, classes, seed, workPerSample, sleepNanosecondsPerSample
    }

    /// The time each sample sleeps.
    public var sleepPerSample: Duration { .nanoseconds(sleepNanosecondsPerSample) }

    /// A dataset of `count` images; throws for a size or count below 1 or a
    /// negative cost.
    public init(
        count: Int, height: Int = 32, width: Int = 32, channels: Int = 3, classes: Int = 10, seed: UInt64 = 0,
        workPerSample: Int = 0, sleepPerSample: Duration = .zero
    ) throws(ConveyorError) {
        guard count >= 0 else { throw .invalidArgument("count is \(count); pass 0 or more") }
        guard height >= 1, width >= 1, channels >= 1, classes >= 1 else {
            throw .invalidArgument(
                "height \(height), width \(width), channels \(channels) and classes \(classes) must each be at least 1")
        }
        guard workPerSample >= 0, sleepPerSample >= .zero else {
            throw .invalidArgument("the work and sleep per sample cannot be negative")
        }
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
        self.classes = classes
        self.seed = seed
        self.workPerSample = workPerSample
        self.sleepNanosecondsPerSample = sleepPerSample.conveyorNanoseconds
        self.schema = try Schema([
            Field("image", .uint8, shape: [height, width, channels]), Field("label", .int64, shape: []),
        ])
    }

    /// Decodes a dataset and checks it as the initializer does; throws
    /// `ConveyorError.invalidArgument` for a value out of range.
    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        let sleep = try values.decode(Int64.self, forKey: .sleepNanosecondsPerSample)
        try self.init(
            count: values.decode(Int.self, forKey: .count), height: values.decode(Int.self, forKey: .height),
            width: values.decode(Int.self, forKey: .width), channels: values.decode(Int.self, forKey: .channels),
            classes: values.decode(Int.self, forKey: .classes), seed: values.decode(UInt64.self, forKey: .seed),
            workPerSample: values.decode(Int.self, forKey: .workPerSample), sleepPerSample: .nanoseconds(sleep))
    }

    /// Encodes the values the decoder reads.
    public func encode(to encoder: any Encoder) throws {
        var values = encoder.container(keyedBy: CodingKeys.self)
        try values.encode(count, forKey: .count)
        try values.encode(height, forKey: .height)
        try values.encode(width, forKey: .width)
        try values.encode(channels, forKey: .channels)
        try values.encode(classes, forKey: .classes)
        try values.encode(seed, forKey: .seed)
        try values.encode(workPerSample, forKey: .workPerSample)
        try values.encode(sleepNanosecondsPerSample, forKey: .sleepNanosecondsPerSample)
    }

    /// The sample at `index` as a `Sample`.
    public func sample(at index: Int) throws -> Sample {
        var pixels = [UInt8](repeating: 0, count: height * width * channels)
        let label = try make(index) { pixels.withUnsafeMutableBytes($0) }
        return Sample([
            "image": try Tensor(pixels, shape: [height, width, channels]),
            "label": Tensor(scalar: label),
        ])
    }

    /// Writes the sample at `index` straight into `writer`.
    public func write(sampleAt index: Int, context: SampleContext, into writer: inout SampleWriter) throws {
        let label = try make(index) { fill in writer.withUnsafeMutableBytes(of: 0, fill) }
        writer.withUnsafeMutableBytes(of: 1) { $0.storeBytes(of: label, as: Int64.self) }
    }

    /// Fills the pixels through `withPixels`, spends the configured cost and
    /// returns the label.
    private func make(_ index: Int, _ withPixels: ((UnsafeMutableRawBufferPointer) -> Void) -> Void) throws -> Int64 {
        guard index >= 0, index < count else {
            throw ConveyorError.invalidArgument("index \(index) is outside the dataset's 0..<\(count)")
        }
        var random = SeededRandom(seed: seed, path: [index])
        withPixels { pixels in
            var offset = 0
            while offset < pixels.count {
                let word = random.next()
                let take = min(8, pixels.count - offset)
                withUnsafeBytes(of: word) { UnsafeMutableRawBufferPointer(rebasing: pixels[offset..<offset + take]).copyBytes(from: $0.prefix(take)) }
                offset += take
            }
        }
        if workPerSample > 0 {
            SyntheticImageDataset.workSink.store(SyntheticImageDataset.mix(random.next(), rounds: workPerSample), ordering: .relaxed)
        }
        SystemCalls.sleep(nanoseconds: sleepNanosecondsPerSample)
        return Int64(random.next() % UInt64(classes))
    }

    /// Where the work's result goes, so the optimizer cannot remove the work.
    private static let workSink = Atomic<UInt64>(0)

    private static func mix(_ start: UInt64, rounds: Int) -> UInt64 {
        var value = start
        for _ in 0..<rounds {
            value = (value ^ (value >> 31)) &* 0x9E37_79B9_7F4A_7C15
            value ^= value >> 29
        }
        return value
    }

    /// The `workPerSample` that costs about `duration` of CPU on this machine,
    /// measured now (about 20 ms).
    package static func work(for duration: Duration) -> Int {
        let probe = 1_000_000
        var best = Int64.max
        for _ in 0..<3 {
            let start = SystemCalls.monotonicNanoseconds()
            workSink.store(mix(UInt64(start), rounds: probe), ordering: .relaxed)
            best = min(best, max(1, SystemCalls.monotonicNanoseconds() - start))
        }
        return Int(Double(duration.conveyorNanoseconds) / Double(best) * Double(probe))
    }
}

/// What the consumer tells a worker process: one 32-byte message on the
/// worker's control socket (four little-endian 64-bit words: kind,
/// generation, epoch, first batch). The format is private to one build of a
/// program talking to itself, so it carries no version.
enum WorkerCommand: Sendable, Hashable {
    /// Make your share of epoch `epoch` from batch `firstBatch` on, tagging
    /// every item with `generation` (which grows with every iteration, so
    /// items of an abandoned iteration can be told apart and dropped).
    case run(generation: Int64, epoch: Int, firstBatch: Int)
    /// Exit now.
    case stop

    /// The size of one encoded command.
    static let byteCount = 32

    /// The message bytes.
    var encoded: [UInt8] {
        let words: [Int64]
        switch self {
        case let .run(generation, epoch, firstBatch): words = [1, generation, Int64(epoch), Int64(firstBatch)]
        case .stop: words = [2, 0, 0, 0]
        }
        return words.flatMap { word in (0..<8).map { UInt8(truncatingIfNeeded: word >> ($0 * 8)) } }
    }

    /// Decodes a message; nil for anything but a well-formed command.
    init?(decoding bytes: [UInt8]) {
        guard bytes.count == WorkerCommand.byteCount else { return nil }
        let words = (0..<4).map { word in
            (0..<8).reduce(Int64(0)) { value, byte in value | Int64(bytes[word * 8 + byte]) << (byte * 8) }
        }
        switch words[0] {
        case 1:
            guard words[2] >= 0, words[3] >= 0 else { return nil }
            self = .run(generation: words[1], epoch: Int(words[2]), firstBatch: Int(words[3]))
        case 2:
            self = .stop
        default:
            return nil
        }
    }
}

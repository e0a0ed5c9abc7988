import ArgumentParser
import Conveyor
import Foundation

/// `conveyor pack`: writes a directory's files, or the rows of .npy files,
/// into WebDataset-style tar shards.
struct PackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Writes a directory, or .npy files, into WebDataset-style tar shards.",
        discussion: """
            A directory: the files sharing a key (the path up to the first dot of the file name) become one \
            sample, in key order; "cat/001.jpg" and "cat/001.cls" are sample "cat/001". \
            .npy files: row i of each becomes the file "<i>.<stem>.npy" of sample i (a one-row .npy), so \
            "conveyor pack images.npy labels.npy" gives samples with "images.npy" and "labels.npy"; all files \
            must have the same rows. Shards are named PREFIX-000000.tar, … in the output directory and read \
            by TarShards, and by Python's tarfile and webdataset.
            """
    )

    @Argument(help: "A directory, or one or more .npy files.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "The directory the shards go to (made if missing).")
    var output: String

    @Option(help: "Samples per shard.")
    var samplesPerShard = 10_000

    @Option(help: "The shards' file name prefix.")
    var prefix = "shard"

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard samplesPerShard >= 1 else { throw ValidationError("--samples-per-shard must be 1 or more") }
        guard !inputs.isEmpty else { throw ValidationError("give a directory or .npy files") }
    }

    func run() throws {
        logging.apply()
        let source: PackSource
        var isDirectory: ObjCBool = false
        if inputs.count == 1, FileManager.default.fileExists(atPath: inputs[0], isDirectory: &isDirectory), isDirectory.boolValue {
            source = try PackSource.directory(inputs[0])
        } else {
            source = try PackSource.numpy(inputs)
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var shards = ShardFiles(directory: output, prefix: prefix)
        var bytes = 0
        for sample in 0..<source.count {
            if sample % samplesPerShard == 0 { try shards.startNext() }
            let encoded = TarSampleWriter.bytes(key: source.key(sample), files: try source.files(sample))
            try shards.write(encoded)
            bytes += encoded.count
        }
        try shards.finish()
        Terminal.line("packed \(source.count) samples into \(shards.written.count) shard\(shards.written.count == 1 ? "" : "s") "
            + "in \(output) (\(bytes) bytes of members)")
    }
}

/// The shard files being written, one after another.
private struct ShardFiles {
    let directory: String
    let prefix: String
    private(set) var written: [String] = []
    private var handle: FileHandle?

    init(directory: String, prefix: String) {
        self.directory = directory
        self.prefix = prefix
    }

    /// Ends the current shard, if any, and starts the next.
    mutating func startNext() throws {
        try finish()
        let path = directory + "/" + prefix + "-" + String(format: "%06d", written.count) + ".tar"
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw ValidationError("cannot create \(path); check the output directory's permissions")
        }
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        written.append(path)
    }

    mutating func write(_ bytes: [UInt8]) throws {
        try handle?.write(contentsOf: bytes)
    }

    /// Closes the current shard with the end-of-archive blocks.
    mutating func finish() throws {
        guard let handle else { return }
        try handle.write(contentsOf: TarSampleWriter.endOfArchive)
        try handle.close()
        self.handle = nil
    }
}

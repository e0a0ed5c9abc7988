/// What one scan of a tar shard's headers finds: where each sample starts
/// (a sample = the consecutive files sharing a key), and the largest file
/// per extension. Only the 512-byte headers are read; the data is skipped.
struct TarShardIndex: Sendable, Hashable {
    /// The shard's path.
    let path: String
    /// The header offset of each sample's first member, then the offset
    /// where the last sample ends: one more entry than samples.
    let sampleOffsets: [Int]
    /// The largest file of each extension, in bytes.
    let largestFile: [String: Int]
    /// The longest key, in bytes.
    let longestKey: Int
    /// The layout of each `.npy` extension's arrays.
    let numpyFields: [String: TarNumpyField]

    /// The samples in the shard.
    var sampleCount: Int { sampleOffsets.count - 1 }

    /// Scans the shard at `path`.
    init(path: String) throws(ConveyorError) {
        self.path = path
        let file = try MappedFile(path: path)
        var offsets: [Int] = []
        var largest: [String: Int] = [:]
        var longestKey = 0
        var numpy: [String: TarNumpyField] = [:]
        var end = 0
        try file.withBytes { (archive) throws(ConveyorError) in
            var offset = 0
            var currentKey: Substring?
            while let member = try TarFormat.member(at: offset, in: archive, path: path) {
                defer { offset = member.nextOffset }
                guard member.isFile, let (key, fileExtension) = TarFormat.keyAndExtension(of: member.name) else { continue }
                if key != currentKey {
                    offsets.append(offset)
                    currentKey = key
                    longestKey = max(longestKey, key.utf8.count)
                }
                largest[String(fileExtension), default: 0] = max(largest[String(fileExtension), default: 0], member.size)
                if TarNumpyField.isNumpy(fileExtension) {
                    let field = try TarNumpyField(member: member, in: archive, path: path)
                    numpy[String(fileExtension)] = try numpy[String(fileExtension)].map { (known) throws(ConveyorError) in
                        try known.merged(with: field, member: member.name, path: path)
                    } ?? field
                }
                end = member.nextOffset
            }
        }
        offsets.append(end)
        self.sampleOffsets = offsets
        self.largestFile = largest
        self.longestKey = longestKey
        self.numpyFields = numpy
    }
}

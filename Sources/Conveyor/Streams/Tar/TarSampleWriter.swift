/// The bytes of WebDataset-style tar shards, sample by sample, as Python's
/// `tarfile` and `webdataset` read them: each file a ustar header (a pax
/// header first when its name is longer than 100 bytes), its data, and zero
/// padding to whole 512-byte blocks; `endOfArchive` closes a shard. Write
/// them to a file in order (`conveyor pack` does).
///
/// ```swift
/// var shard = TarSampleWriter.bytes(key: "000017", files: [("jpg", jpegBytes), ("cls", Array("3".utf8))])
/// shard += TarSampleWriter.endOfArchive
/// ```
public enum TarSampleWriter {
    /// One sample: its files, named `key.extension`, in the order given.
    public static func bytes(key: String, files: [(extension: String, bytes: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for file in files {
            out += TarFormat.headers(name: "\(key).\(file.extension)", size: file.bytes.count)
            out += file.bytes
            out += [UInt8](repeating: 0, count: TarFormat.padded(file.bytes.count) - file.bytes.count)
        }
        return out
    }

    /// The two zero blocks that end a shard.
    public static var endOfArchive: [UInt8] { TarFormat.endOfArchive }

    /// A WebDataset file name's sample key and extension ("a/x.seg.png" →
    /// ("a/x", "seg.png")); nil when the name has no extension.
    public static func keyAndExtension(of name: String) -> (key: String, extension: String)? {
        TarFormat.keyAndExtension(of: name).map { (String($0.key), String($0.extension)) }
    }
}

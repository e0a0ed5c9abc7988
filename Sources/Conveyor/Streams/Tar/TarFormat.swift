/// The parts of the tar format a WebDataset shard uses, as Python's
/// `tarfile` writes them: 512-byte ustar headers (name split into prefix and
/// name), pax extended headers (`x`: a long `path`, a large `size`), GNU
/// long names (`L`), and the end-of-archive zero blocks. Reading checks every
/// header's checksum and that every member lies inside the file.
enum TarFormat {
    /// One block.
    static let blockSize = 512

    /// A member of an archive.
    struct Member: Hashable {
        /// The member's path in the archive.
        var name: String
        /// Whether it is a regular file (directories, links and the like are not samples).
        var isFile: Bool
        /// Where its data starts in the archive.
        var dataOffset: Int
        /// Its data's size in bytes.
        var size: Int
        /// Where the next header starts.
        var nextOffset: Int
    }

    /// The member whose (first) header starts at `offset` of `archive`, past
    /// any pax or long-name headers that describe it; nil at the end of the
    /// archive (a zero block, or the file's end).
    static func member(at offset: Int, in archive: UnsafeRawBufferPointer, path: String) throws(ConveyorError) -> Member? {
        var offset = offset
        var longName: String?
        var paxSize: Int?
        while true {
            if offset == archive.count { return nil }
            guard offset + blockSize <= archive.count else {
                throw .invalidFile(path: path, problem: "it ends inside a tar header at byte \(offset); the shard is truncated, write it again")
            }
            let header = UnsafeRawBufferPointer(rebasing: archive[offset..<(offset + blockSize)])
            if header.allSatisfy({ $0 == 0 }) { return nil }
            try checkChecksum(header, at: offset, path: path)
            let type = header[156]
            var size = try number(header[124..<136], field: "size", at: offset, path: path)
            if let paxSize { size = paxSize }
            if type == UInt8(ascii: "x") || type == UInt8(ascii: "g") || type == UInt8(ascii: "L") || type == UInt8(ascii: "K") {
                let dataOffset = offset + blockSize
                size = try number(header[124..<136], field: "size", at: offset, path: path)
                guard dataOffset + size <= archive.count else {
                    throw .invalidFile(path: path, problem: "the tar member at byte \(offset) runs past the file's end; the shard is truncated")
                }
                let data = UnsafeRawBufferPointer(rebasing: archive[dataOffset..<(dataOffset + size)])
                if type == UInt8(ascii: "x") {
                    let records = try paxRecords(data, at: offset, path: path)
                    if let name = records["path"] { longName = name }
                    if let text = records["size"] {
                        guard let value = Int(text), value >= 0 else {
                            throw .invalidFile(path: path, problem: "the pax header at byte \(offset) gives size '\(text)'")
                        }
                        paxSize = value
                    }
                } else if type == UInt8(ascii: "L") {
                    longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                }
                offset = dataOffset + padded(size)
                continue
            }
            let name = longName ?? headerName(header)
            let dataOffset = offset + blockSize
            let isFile = type == 0 || type == UInt8(ascii: "0") || type == UInt8(ascii: "7")
            let stored = isFile ? size : (type == UInt8(ascii: "5") || type == UInt8(ascii: "1") || type == UInt8(ascii: "2") ? 0 : size)
            guard dataOffset + stored <= archive.count else {
                throw .invalidFile(
                    path: path,
                    problem: "the tar member '\(name)' at byte \(offset) needs \(stored) bytes but the file ends first; "
                        + "the shard is truncated, write it again")
            }
            return Member(name: name, isFile: isFile, dataOffset: dataOffset, size: stored, nextOffset: dataOffset + padded(stored))
        }
    }

    /// `size` rounded up to whole blocks.
    static func padded(_ size: Int) -> Int {
        (size + blockSize - 1) / blockSize * blockSize
    }

    /// A WebDataset name's sample key and extension: the key is the path up
    /// to the first dot of its last component ("a/b/x.seg.png" → "a/b/x",
    /// "seg.png"); nil for a name without an extension.
    static func keyAndExtension(of name: String) -> (key: Substring, extension: Substring)? {
        let lastSlash = name.lastIndex(of: "/").map { name.index(after: $0) } ?? name.startIndex
        guard let dot = name[lastSlash...].firstIndex(of: "."), dot != lastSlash else { return nil }
        let rest = name[name.index(after: dot)...]
        guard !rest.isEmpty else { return nil }
        return (name[..<dot], rest)
    }

    /// A ustar header for a regular file `name` of `size` bytes, preceded
    /// by a pax header when the name does not fit ustar's fields.
    static func headers(name: String, size: Int, modificationTime: Int = 0) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        var out: [UInt8] = []
        var shortName = nameBytes
        if nameBytes.count > 100 {
            // "%d path=%s\n", where the length counts itself.
            let body = " path=\(name)\n"
            var length = body.utf8.count + 1
            while "\(length)".utf8.count + body.utf8.count != length { length += 1 }
            let record = Array("\(length)\(body)".utf8)
            out += block(name: Array("PaxHeader/\(name.suffix(80))".utf8.prefix(100)), size: record.count, type: UInt8(ascii: "x"),
                         modificationTime: modificationTime)
            out += record + [UInt8](repeating: 0, count: padded(record.count) - record.count)
            shortName = Array(nameBytes.suffix(100))
        }
        out += block(name: shortName, size: size, type: UInt8(ascii: "0"), modificationTime: modificationTime)
        return out
    }

    /// The two zero blocks that end an archive.
    static var endOfArchive: [UInt8] { [UInt8](repeating: 0, count: 2 * blockSize) }

    /// One ustar header block.
    private static func block(name: [UInt8], size: Int, type: UInt8, modificationTime: Int) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: blockSize)
        func put(_ bytes: [UInt8], at start: Int) {
            for (offset, byte) in bytes.enumerated() { header[start + offset] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(Array(name.prefix(100)), at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(modificationTime, width: 12), at: 136)
        header[156] = type
        put(Array("ustar".utf8) + [0] + Array("00".utf8), at: 257)
        put([UInt8](repeating: UInt8(ascii: " "), count: 8), at: 148)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return header
    }

    /// The name a ustar header holds: prefix "/" name.
    private static func headerName(_ header: UnsafeRawBufferPointer) -> String {
        let name = String(decoding: header[0..<100].prefix { $0 != 0 }, as: UTF8.self)
        let isUstar = header[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? String(decoding: header[345..<500].prefix { $0 != 0 }, as: UTF8.self) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// An octal number (NUL or space terminated), or base-256 when the first byte's high bit is set.
    private static func number(
        _ field: Slice<UnsafeRawBufferPointer>, field name: String, at offset: Int, path: String
    ) throws(ConveyorError) -> Int {
        if let first = field.first, first & 0x80 != 0 {
            var value = Int(first & 0x7F)
            for byte in field.dropFirst() {
                guard value < Int.max >> 9 else { break }
                value = value << 8 | Int(byte)
            }
            return value
        }
        var value = 0
        var seenDigit = false
        for byte in field {
            if byte == 0 || (byte == UInt8(ascii: " ") && seenDigit) { break }
            if byte == UInt8(ascii: " ") { continue }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte), value < Int.max >> 4 else {
                throw .invalidFile(path: path, problem: "the tar header at byte \(offset) has a bad \(name) field; it is not a tar file or it is damaged")
            }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))
            seenDigit = true
        }
        return value
    }

    private static func checkChecksum(_ header: UnsafeRawBufferPointer, at offset: Int, path: String) throws(ConveyorError) {
        let stored = try number(header[148..<156], field: "checksum", at: offset, path: path)
        var sum = 0
        for (position, byte) in header.enumerated() {
            sum += (148..<156).contains(position) ? Int(UInt8(ascii: " ")) : Int(byte)
        }
        guard stored == sum else {
            throw .invalidFile(
                path: path,
                problem: "the tar header at byte \(offset) has checksum \(stored) but its bytes sum to \(sum); "
                    + "the shard is damaged or not a tar file")
        }
    }

    /// A pax header's "length key=value\n" records.
    private static func paxRecords(_ data: UnsafeRawBufferPointer, at offset: Int, path: String) throws(ConveyorError) -> [String: String] {
        var records: [String: String] = [:]
        var position = 0
        while position < data.count, data[position] != 0 {
            guard let space = data[position...].firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: data[position..<space], as: UTF8.self)), length > 0,
                position + length <= data.count
            else {
                throw .invalidFile(path: path, problem: "the pax header at byte \(offset) is malformed")
            }
            let record = data[(space + 1)..<(position + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[record.startIndex..<equals], as: UTF8.self)] =
                    String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            position += length
        }
        return records
    }
}

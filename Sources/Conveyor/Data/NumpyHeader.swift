/// The header of a NumPy `.npy` file (format versions 1, 2 and 3): the dtype,
/// the shape, and where the data starts. Parsing checks everything before a
/// byte of data is trusted, and each problem is its own clear error.
struct NumpyHeader: Sendable, Hashable {
    /// The scalar type (little-endian in the file).
    let dtype: DType
    /// The array's shape; the first dimension is the number of samples.
    let shape: [Int]
    /// The offset of the first data byte in the file.
    let dataOffset: Int

    /// Bytes of data the shape and dtype call for.
    var dataByteCount: Int { shape.reduce(1, *) * dtype.size }

    /// Parses the header at the start of `file`, whose whole content is given
    /// (at least the header; the data's length is checked too). `path` is for messages.
    init(parsing file: UnsafeRawBufferPointer, path: String) throws(ConveyorError) {
        try self.init(parsing: file, path: path, allowingScalar: false)
    }

    /// The same; a 0-dimensional array (one scalar: a label in a tar
    /// shard) is allowed when `allowingScalar`.
    init(parsing file: UnsafeRawBufferPointer, path: String, allowingScalar: Bool) throws(ConveyorError) {
        func bad(_ problem: String) -> ConveyorError { .invalidFile(path: path, problem: problem) }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
        guard file.count >= 10, Array(file[0..<6]) == magic else {
            throw bad("it is not a NumPy .npy file (it does not start with \\x93NUMPY); save it with numpy.save")
        }
        let major = file[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(file[8]) | Int(file[9]) << 8
            headerStart = 10
        case 2, 3:
            guard file.count >= 12 else { throw bad("the file ends inside its header; the file is truncated") }
            headerLength = Int(file[8]) | Int(file[9]) << 8 | Int(file[10]) << 16 | Int(file[11]) << 24
            headerStart = 12
        default:
            throw bad("it is .npy format version \(major).\(file[7]); versions 1, 2 and 3 are supported")
        }
        guard headerStart + headerLength <= file.count else {
            throw bad("the header says it is \(headerLength) bytes but the file ends before that; the file is truncated")
        }
        let text = Array(file[headerStart..<(headerStart + headerLength)])
        var parser = NumpyHeaderParser(text: text)
        let dictionary: [String: NumpyHeaderParser.Value]
        do {
            dictionary = try parser.parseDictionary()
        } catch {
            throw bad("its header is not a valid Python dictionary (\(error.reason)): \(String(decoding: text, as: UTF8.self))")
        }
        guard case .string(let descr)? = dictionary["descr"] else {
            if case .other? = dictionary["descr"] {
                throw bad("it holds a structured dtype; only plain numeric arrays are supported (save each field as its own file)")
            }
            throw bad("its header has no 'descr' string")
        }
        guard case .bool(let fortranOrder)? = dictionary["fortran_order"] else {
            throw bad("its header has no 'fortran_order' True/False")
        }
        guard case .integers(let shape)? = dictionary["shape"] else {
            throw bad("its header has no 'shape' tuple of integers")
        }
        guard !fortranOrder else {
            throw bad("it is in Fortran order; save a C-ordered array (numpy.ascontiguousarray(a))")
        }
        guard !shape.isEmpty || allowingScalar else {
            throw bad("it holds a 0-dimensional array, which has no rows; save an array whose first dimension counts samples")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw bad("its shape \(shape) has a negative dimension")
        }
        self.dtype = try NumpyHeader.dtype(descr: descr, path: path)
        self.shape = shape
        self.dataOffset = headerStart + headerLength
        let (total, overflow) = shape.reduce((1, false)) { partial, dimension in
            let (product, overflowed) = partial.0.multipliedReportingOverflow(by: dimension)
            return (product, partial.1 || overflowed)
        }
        guard !overflow, !total.multipliedReportingOverflow(by: dtype.size).overflow else {
            throw bad("its shape \(shape) is too large to address")
        }
        guard file.count - dataOffset >= dataByteCount else {
            throw bad(
                "its shape \(shape) of \(dtype) needs \(dataByteCount) bytes of data but the file holds "
                    + "\(file.count - dataOffset); the file is truncated, write it again")
        }
    }

    /// The dtype a NumPy type string such as "<f4" names.
    static func dtype(descr: String, path: String) throws(ConveyorError) -> DType {
        let supported = "u1, i1, <i2, <u2, <i4, <u4, <i8, <u8, <f2, <f4, <f8"
        guard let order = descr.first, "<>|=".contains(order) else {
            throw .invalidFile(path: path, problem: "its dtype '\(descr)' is not supported; supported: \(supported)")
        }
        let code = String(descr.dropFirst())
        let table: [String: DType] = [
            "u1": .uint8, "i1": .int8, "i2": .int16, "u2": .uint16, "i4": .int32, "u4": .uint32,
            "i8": .int64, "u8": .uint64, "f2": .float16, "f4": .float32, "f8": .float64,
        ]
        guard let dtype = table[code] else {
            throw .invalidFile(path: path, problem: "its dtype '\(descr)' is not supported; supported: \(supported)")
        }
        if order == ">" && dtype.size > 1 {
            throw .invalidFile(
                path: path,
                problem: "its dtype '\(descr)' is big-endian; convert it with a.astype('<\(code)') and save again")
        }
        return dtype
    }
}

/// A parser for the Python dictionary literal in a `.npy` header: string keys;
/// values that are strings, True/False, or tuples of integers (others are
/// skipped over as `.other`).
struct NumpyHeaderParser {
    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case integers([Int])
        case other
    }

    struct Failure: Error {
        var reason: String
    }

    private let text: [UInt8]
    private var position = 0

    init(text: [UInt8]) {
        self.text = text
    }

    mutating func parseDictionary() throws(Failure) -> [String: Value] {
        try expect(UInt8(ascii: "{"))
        var result: [String: Value] = [:]
        while true {
            skipSpace()
            if peek() == UInt8(ascii: "}") { position += 1; break }
            let key = try parseString()
            try expect(UInt8(ascii: ":"))
            result[key] = try parseValue()
            skipSpace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"))
            break
        }
        skipSpace()
        guard position == text.count else { throw Failure(reason: "text after the closing brace") }
        return result
    }

    private mutating func parseValue() throws(Failure) -> Value {
        skipSpace()
        switch peek() {
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "("):
            return try parseTuple()
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            try skipNested()
            return .other
        default:
            let word = parseWord()
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "": throw Failure(reason: "a value is missing at byte \(position)")
            default: return .other
            }
        }
    }

    private mutating func parseTuple() throws(Failure) -> Value {
        try expect(UInt8(ascii: "("))
        var values: [Int] = []
        while true {
            skipSpace()
            if peek() == UInt8(ascii: ")") { position += 1; return .integers(values) }
            var word = parseWord()
            if word.hasSuffix("L") { word.removeLast() }  // Python 2 long literals
            guard let value = Int(word) else { throw Failure(reason: "'\(word)' in the shape is not an integer") }
            values.append(value)
            skipSpace()
            if peek() == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: ")"))
            return .integers(values)
        }
    }

    private mutating func skipNested() throws(Failure) {
        var depth = 0
        while position < text.count {
            let byte = text[position]
            position += 1
            if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "(") { depth += 1 }
            if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: ")") {
                depth -= 1
                if depth == 0 { return }
            }
        }
        throw Failure(reason: "an unclosed bracket")
    }

    private mutating func parseString() throws(Failure) -> String {
        skipSpace()
        guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            throw Failure(reason: "expected a quoted string at byte \(position)")
        }
        position += 1
        let start = position
        while position < text.count, text[position] != quote { position += 1 }
        guard position < text.count else { throw Failure(reason: "an unterminated string") }
        let value = String(decoding: text[start..<position], as: UTF8.self)
        position += 1
        return value
    }

    private mutating func parseWord() -> String {
        skipSpace()
        let start = position
        while position < text.count, let byte = peek(),
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "_")
        {
            position += 1
        }
        return String(decoding: text[start..<position], as: UTF8.self)
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        skipSpace()
        guard peek() == byte else {
            throw Failure(reason: "expected '\(Character(Unicode.Scalar(byte)))' at byte \(position)")
        }
        position += 1
    }

    private mutating func skipSpace() {
        while position < text.count, text[position] == 0x20 || text[position] == 0x0A || text[position] == 0x09 {
            position += 1
        }
    }

    private func peek() -> UInt8? {
        position < text.count ? text[position] : nil
    }
}

/// The element type of a field: what each scalar in a slot or tensor is.
public enum DType: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case uint8 = "u8", int8 = "i8", int16 = "i16", uint16 = "u16", int32 = "i32", uint32 = "u32"
    case int64 = "i64", uint64 = "u64", float16 = "f16", float32 = "f32", float64 = "f64"

    /// Bytes per scalar.
    public var size: Int {
        switch self {
        case .uint8, .int8: 1
        case .int16, .uint16, .float16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        }
    }

    /// A stable numeric code, used where the dtype is stored as bytes.
    public var code: UInt8 {
        UInt8(DType.allCases.firstIndex(of: self)! + 1)
    }

    /// The dtype with numeric `code`, or nil for an unknown code.
    public init?(code: UInt8) {
        let index = Int(code) - 1
        guard DType.allCases.indices.contains(index) else { return nil }
        self = DType.allCases[index]
    }

    /// The short name, such as "f32".
    public var description: String { rawValue }
}

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

    /// The byte that stands for this dtype in a ring segment's field table
    /// (docs/FORMAT.md). Each code is written out, never derived from the
    /// order of the cases: segments and foreign peers depend on them.
    public var code: UInt8 {
        switch self {
        case .uint8: 1
        case .int8: 2
        case .int16: 3
        case .uint16: 4
        case .int32: 5
        case .uint32: 6
        case .int64: 7
        case .uint64: 8
        case .float16: 9
        case .float32: 10
        case .float64: 11
        }
    }

    /// The dtype with numeric `code`, or nil for an unknown code.
    public init?(code: UInt8) {
        guard let dtype = DType.allCases.first(where: { $0.code == code }) else { return nil }
        self = dtype
    }

    /// The short name, such as "f32".
    public var description: String { rawValue }
}

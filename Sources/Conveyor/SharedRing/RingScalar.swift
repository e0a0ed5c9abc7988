/// A Swift type that a ring field's scalars can be viewed as: its size and
/// meaning match one `DType`.
public protocol RingScalar: BitwiseCopyable {
    /// The dtype whose scalars this type reads and writes.
    static var dtype: DType { get }
}

extension UInt8: RingScalar { /// `u8`
    public static var dtype: DType { .uint8 } }
extension Int8: RingScalar { /// `i8`
    public static var dtype: DType { .int8 } }
extension Int16: RingScalar { /// `i16`
    public static var dtype: DType { .int16 } }
extension UInt16: RingScalar { /// `u16`
    public static var dtype: DType { .uint16 } }
extension Int32: RingScalar { /// `i32`
    public static var dtype: DType { .int32 } }
extension UInt32: RingScalar { /// `u32`
    public static var dtype: DType { .uint32 } }
extension Int64: RingScalar { /// `i64`
    public static var dtype: DType { .int64 } }
extension UInt64: RingScalar { /// `u64`
    public static var dtype: DType { .uint64 } }
extension Float: RingScalar { /// `f32`
    public static var dtype: DType { .float32 } }
extension Double: RingScalar { /// `f64`
    public static var dtype: DType { .float64 } }
#if !(os(macOS) && arch(x86_64))
extension Float16: RingScalar { /// `f16`
    public static var dtype: DType { .float16 } }
#endif

extension Schema {
    /// The index of field `name`, or `.invalidArgument` naming the fields there are.
    func ringFieldIndex(_ name: String) throws(ConveyorError) -> Int {
        guard let index = index(of: name) else {
            throw .invalidArgument("the ring has no field '\(name)'; its fields are "
                + fields.map(\.name).joined(separator: ", "))
        }
        return index
    }
}

/// A Swift type that is the scalar of one `DType` (`UInt8` … `Double`,
/// `Float16`): ring fields, tensors and sample writers hand out typed views
/// of their bytes as such types.
public protocol DTypeScalar: BitwiseCopyable {
    /// The dtype whose scalars this type reads and writes.
    static var dtype: DType { get }
}

extension UInt8: DTypeScalar { /// `u8`
    public static var dtype: DType { .uint8 } }
extension Int8: DTypeScalar { /// `i8`
    public static var dtype: DType { .int8 } }
extension Int16: DTypeScalar { /// `i16`
    public static var dtype: DType { .int16 } }
extension UInt16: DTypeScalar { /// `u16`
    public static var dtype: DType { .uint16 } }
extension Int32: DTypeScalar { /// `i32`
    public static var dtype: DType { .int32 } }
extension UInt32: DTypeScalar { /// `u32`
    public static var dtype: DType { .uint32 } }
extension Int64: DTypeScalar { /// `i64`
    public static var dtype: DType { .int64 } }
extension UInt64: DTypeScalar { /// `u64`
    public static var dtype: DType { .uint64 } }
extension Float: DTypeScalar { /// `f32`
    public static var dtype: DType { .float32 } }
extension Double: DTypeScalar { /// `f64`
    public static var dtype: DType { .float64 } }
#if !(os(macOS) && arch(x86_64))
extension Float16: DTypeScalar { /// `f16`
    public static var dtype: DType { .float16 } }
#endif

/// A Swift type that is the scalar of one `DType`, so tensors and writers can
/// hand out typed views of their bytes.
public protocol TensorScalar: BitwiseCopyable, Sendable {
    /// The dtype whose scalars are this type.
    static var dtype: DType { get }
}

extension UInt8: TensorScalar { /// `.uint8`
    public static var dtype: DType { .uint8 } }
extension Int8: TensorScalar { /// `.int8`
    public static var dtype: DType { .int8 } }
extension Int16: TensorScalar { /// `.int16`
    public static var dtype: DType { .int16 } }
extension UInt16: TensorScalar { /// `.uint16`
    public static var dtype: DType { .uint16 } }
extension Int32: TensorScalar { /// `.int32`
    public static var dtype: DType { .int32 } }
extension UInt32: TensorScalar { /// `.uint32`
    public static var dtype: DType { .uint32 } }
extension Int64: TensorScalar { /// `.int64`
    public static var dtype: DType { .int64 } }
extension UInt64: TensorScalar { /// `.uint64`
    public static var dtype: DType { .uint64 } }
extension Float: TensorScalar { /// `.float32`
    public static var dtype: DType { .float32 } }
extension Double: TensorScalar { /// `.float64`
    public static var dtype: DType { .float64 } }
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: TensorScalar { /// `.float16`
    public static var dtype: DType { .float16 } }
#endif

/// A Swift type that is the scalar of one `DType` (`UInt8` … `Double`,
/// `Float16`), so tensors and sample writers can hand out typed views of
/// their bytes. It is the same protocol as the ring's field scalars, so one
/// conformance serves both.
public typealias TensorScalar = RingScalar

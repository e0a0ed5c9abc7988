/// The arrays of one `.npy` extension in tar shards: their dtype and shape
/// after the first dimension agree; the first may vary up to `maxRows`. A
/// scalar array (shape `[]`) makes a scalar field.
struct TarNumpyField: Sendable, Hashable {
    let dtype: DType
    /// The shape after the first dimension; nil for scalars.
    let rowShape: [Int]?
    let maxRows: Int

    /// Whether files of this extension are decoded as NumPy arrays.
    static func isNumpy(_ fileExtension: Substring) -> Bool {
        fileExtension == "npy" || fileExtension.hasSuffix(".npy")
    }

    /// The layout of the array in `member`.
    init(member: TarFormat.Member, in archive: UnsafeRawBufferPointer, path: String) throws(ConveyorError) {
        let header = try TarNumpyField.header(member: member, in: archive, path: path)
        dtype = header.dtype
        rowShape = header.shape.isEmpty ? nil : Array(header.shape.dropFirst())
        maxRows = header.shape.first ?? 1
    }

    /// The header of the array in `member`, checked against the member's size.
    static func header(member: TarFormat.Member, in archive: UnsafeRawBufferPointer, path: String) throws(ConveyorError) -> NumpyHeader {
        let data = UnsafeRawBufferPointer(rebasing: archive[member.dataOffset..<(member.dataOffset + member.size)])
        return try NumpyHeader(parsing: data, path: "\(path) (member \(member.name))", allowingScalar: true)
    }

    /// This layout and `other`'s as one; throws when they cannot share a field.
    func merged(with other: TarNumpyField, member: String, path: String) throws(ConveyorError) -> TarNumpyField {
        guard dtype == other.dtype, rowShape == other.rowShape else {
            throw .invalidFile(
                path: path,
                problem: "member \(member) holds \(other.dtype) rows of \(other.rowShape.map { "\($0)" } ?? "a scalar") "
                    + "but earlier arrays of its extension hold \(dtype) rows of \(rowShape.map { "\($0)" } ?? "a scalar"); "
                    + "arrays of one extension must agree but for their first dimension")
        }
        return TarNumpyField(dtype: dtype, rowShape: rowShape, maxRows: max(maxRows, other.maxRows))
    }

    private init(dtype: DType, rowShape: [Int]?, maxRows: Int) {
        self.dtype = dtype
        self.rowShape = rowShape
        self.maxRows = maxRows
    }

    /// The schema field named `name`.
    func field(named name: String) -> Field {
        Field(name, dtype, shape: rowShape.map { [maxRows] + $0 } ?? [])
    }
}

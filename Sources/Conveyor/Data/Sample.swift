/// One sample as named tensors, in order: what the built-in datasets return.
///
/// ```swift
/// let sample = Sample(["image": try Tensor(pixels, shape: [32, 32, 3]),
///                      "label": Tensor(scalar: Int64(7))])
/// let label = try sample["label"]?.scalar(as: Int64.self)
/// ```
public struct Sample: Sendable, Hashable {
    /// The tensors' names, in order.
    public private(set) var names: [String]
    /// The tensors, in the order of `names`.
    public private(set) var tensors: [Tensor]

    /// A sample of the named tensors, in the order given.
    public init(_ tensors: KeyValuePairs<String, Tensor>) {
        self.names = tensors.map(\.key)
        self.tensors = tensors.map(\.value)
    }

    /// The tensor named `name`; setting nil removes it, setting a new name appends it.
    public subscript(name: String) -> Tensor? {
        get { names.firstIndex(of: name).map { tensors[$0] } }
        set {
            if let index = names.firstIndex(of: name) {
                if let newValue { tensors[index] = newValue } else {
                    names.remove(at: index)
                    tensors.remove(at: index)
                }
            } else if let newValue {
                names.append(name)
                tensors.append(newValue)
            }
        }
    }

    /// The schema that holds exactly this sample: each tensor's shape, with
    /// its first dimension as the maximum rows.
    public var schema: Schema {
        get throws(ConveyorError) {
            try Schema(zip(names, tensors).map { Field($0, $1.dtype, shape: $1.shape) })
        }
    }
}

extension Sample: SampleWritable {
    /// Writes each tensor into the schema's field of the same name; throws
    /// when a field has no tensor or a tensor has no field.
    public func write(into writer: inout SampleWriter) throws {
        for field in writer.schema.fields {
            guard let tensor = self[field.name] else {
                throw ConveyorError.invalidArgument(
                    "the sample has no tensor named '\(field.name)' (it has \(names)); "
                        + "return a sample with every field of the schema \(writer.schema)")
            }
            try writer.write(tensor, to: field.name)
        }
        if let extra = names.first(where: { writer.schema.index(of: $0) == nil }) {
            throw ConveyorError.invalidArgument(
                "the sample's tensor '\(extra)' has no field in the schema \(writer.schema); "
                    + "add the field or drop the tensor")
        }
    }
}

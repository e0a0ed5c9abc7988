/// The layout of one item: an ordered list of named, typed fields.
///
/// ```swift
/// let schema = try Schema([Field("image", .float32, shape: [1024]),
///                          Field("label", .int32, shape: [16])])
/// ```
public struct Schema: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The fields, in order.
    public let fields: [Field]

    /// A schema of `fields`; throws for no fields, duplicate or empty names,
    /// or a dimension below 1.
    public init(_ fields: [Field]) throws(ConveyorError) {
        guard !fields.isEmpty else { throw .invalidArgument("a schema needs at least one field") }
        var seen = Set<String>()
        for field in fields {
            guard !field.name.isEmpty else { throw .invalidArgument("a field name is empty") }
            guard seen.insert(field.name).inserted else {
                throw .invalidArgument("field name '\(field.name)' appears twice in the schema")
            }
            guard field.shape.allSatisfy({ $0 >= 1 }) else {
                throw .invalidArgument("field '\(field.name)' has shape \(field.shape); every dimension must be at least 1")
            }
        }
        self.fields = fields
    }

    /// The index of the field named `name`, or nil.
    public func index(of name: String) -> Int? {
        fields.firstIndex { $0.name == name }
    }

    /// Bytes of all fields at their maximum row counts.
    public var maxBytes: Int { fields.reduce(0) { $0 + $1.maxBytes } }

    /// For example "{image: f32[1024], label: i32[16]}".
    public var description: String {
        "{" + fields.map(\.description).joined(separator: ", ") + "}"
    }
}

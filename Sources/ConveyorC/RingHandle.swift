import Conveyor

/// A ring held by a C caller.
final class RingHandle: HandleObject, @unchecked Sendable {
    static let kind = "ring"
    let ring: SharedRing

    init(_ ring: SharedRing) { self.ring = ring }
}

/// A schema as C callers write it: `{"fields": [{"name", "dtype", "shape"}]}`,
/// checked by `Schema.init` (the synthesized decoder would skip the checks).
struct SchemaDocument: Codable {
    var fields: [Field]

    init(_ schema: Schema) { fields = schema.fields }

    func schema() throws(ConveyorError) -> Schema { try Schema(fields) }
}

/// `conveyor_ring_describe`'s answer.
struct RingDescription: Encodable {
    var schema: SchemaDocument
    var lanes: Int
    var slotsPerLane: Int
    var byteCount: Int
    var descriptor: Int32
    var name: String?

    init(_ ring: SharedRing) {
        schema = SchemaDocument(ring.schema)
        lanes = ring.laneCount
        slotsPerLane = ring.slotsPerLane
        byteCount = ring.byteCount
        descriptor = ring.descriptor
        name = ring.name
    }

    enum CodingKeys: String, CodingKey { case schema, lanes, slotsPerLane, byteCount, descriptor, name }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(lanes, forKey: .lanes)
        try container.encode(slotsPerLane, forKey: .slotsPerLane)
        try container.encode(byteCount, forKey: .byteCount)
        try container.encode(descriptor, forKey: .descriptor)
        try container.encode(name, forKey: .name)  // null for an anonymous ring
    }
}

/// `conveyor_ring_info`'s answer: `RingInfo`'s own JSON, plus its
/// `description` as "text".
struct RingInfoDocument: Encodable {
    var info: RingInfo

    init(_ info: RingInfo) { self.info = info }

    private enum CodingKeys: String, CodingKey { case text }

    func encode(to encoder: any Encoder) throws {
        try info.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(info.description, forKey: .text)
    }
}

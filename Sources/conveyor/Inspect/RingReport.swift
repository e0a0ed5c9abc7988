import Conveyor
import Foundation

/// What `conveyor inspect` read in one pass: the rings, the segments that
/// could not be read as rings, and the processes it could not look into.
struct RingReport {
    var rings: [RingSnapshot]
    var problems: [RingProblem]
    var unreadableProcesses: [Int32]

    /// Every ring this user can see, or only the one at `location`.
    static func take(_ location: RingLocation?) -> RingReport {
        guard let location else {
            let survey = SharedRing.survey()
            return RingReport(rings: survey.rings, problems: survey.problems,
                              unreadableProcesses: survey.unreadableProcesses)
        }
        do {
            return RingReport(rings: [try SharedRing.inspect(location)], problems: [], unreadableProcesses: [])
        } catch {
            return RingReport(rings: [], problems: [RingProblem(location: location, error: error)],
                              unreadableProcesses: [])
        }
    }

    // MARK: Text

    /// The report for a person: a block per ring, then the problems.
    func text(rates: RingRates?) -> String {
        var lines: [String] = []
        if rings.isEmpty, problems.isEmpty {
            lines.append("No Conveyor rings: none named in /dev/shm, none open in a process this user can read.")
        }
        for ring in rings {
            lines += block(ring, rates: rates)
            lines.append("")
        }
        for problem in problems {
            lines.append("\(problem.location): not a readable ring: \(problem.error)")
        }
        if !unreadableProcesses.isEmpty {
            let shown = unreadableProcesses.prefix(12).map(String.init).joined(separator: ", ")
            lines.append("Could not read the descriptors of \(unreadableProcesses.count) process"
                + "\(unreadableProcesses.count == 1 ? "" : "es") (another user's, or protected): \(shown)"
                + (unreadableProcesses.count > 12 ? ", …" : "") + "; an anonymous ring only they hold is not listed.")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func block(_ ring: RingSnapshot, rates: RingRates?) -> [String] {
        let info = ring.info
        let kind = if case .named = ring.location { "named (/dev/shm)" } else { "anonymous (memfd)" }
        let creator = "created by pid \(ring.creatorPID) (\(ring.creatorAlive ? "alive" : "dead"))"
        let lanes = "\(info.lanes.count) lane\(info.lanes.count == 1 ? "" : "s")"
        let slots = "\(info.lanes.first?.capacity ?? 0) slots of \(Format.bytes(ring.slotBytes))"
        let holders: String = ring.holders.isEmpty
            ? "no process this user can read" : ring.holders.map(\.description).joined(separator: ", ")
        let consumers: String = info.consumerPIDs.isEmpty
            ? "none" : info.consumerPIDs.map(String.init).joined(separator: ", ")
        var lines = [
            "\(ring.location)  \(kind), \(Format.bytes(info.byteCount)), \(creator)",
            "  schema \(info.schema); \(lanes) × \(slots); resets \(info.resets)",
            "  held by \(holders); consumers: \(consumers)",
        ]
        var header = "  " + Format.pad("lane", 6) + Format.pad("depth", 9, right: true) + "  " + Format.pad("producer", 18)
            + Format.pad("committed", 12, right: true) + Format.pad("consumed", 12, right: true)
        if rates != nil { header += Format.pad("items/s", 11, right: true) + Format.pad("MB/s", 9, right: true) }
        lines.append(header)
        for lane in info.lanes {
            let producer = lane.producerPID.map { "\($0) \(Self.state(lane.producerState))" } ?? "none"
            var row = "  " + Format.pad("\(lane.lane)", 6) + Format.pad("\(lane.depth)/\(lane.capacity)", 9, right: true)
                + "  " + Format.pad(producer, 18) + Format.pad("\(lane.committed)", 12, right: true)
                + Format.pad("\(lane.consumed)", 12, right: true)
            if let rates {
                let rate = rates.itemsPerSecond[RingRates.key(ring.location, lane.lane)]
                row += Format.pad(rate.map { Format.fixed($0, 0) } ?? "–", 11, right: true)
                row += Format.pad(rate.map { Format.fixed($0 * Double(ring.itemBytes) / 1e6, 1) } ?? "–", 9, right: true)
            }
            lines.append(row)
        }
        return lines
    }

    /// A producer's state in plain words: alive, stopped or dead.
    static func state(_ state: RingInfo.ProducerState?) -> String {
        switch state?.rawValue {
        case "running": "alive"
        case "gone": "dead"
        case let other?: other
        case nil: "?"
        }
    }

    // MARK: JSON

    /// The report as one JSON document (see `RingReportJSON`).
    func json(rates: RingRates?) throws -> String {
        let document = RingReportJSON(
            rings: rings.map { RingReportJSON.Ring($0, rates: rates) },
            problems: problems.map { RingReportJSON.Problem(location: $0.location.description, error: "\($0.error)") },
            unreadableProcesses: unreadableProcesses)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }
}

/// The JSON form of a report, for scripts. Format 2: each ring's state
/// (its "depth", "capacity", "resets", "consumerPIDs", "byteCount" and
/// "lanes") is `RingInfo`'s own JSON, the one `conveyor_ring_info` gives,
/// so a lane's "producerState" is "running", "stopped" or "gone" (format
/// 1 said "alive" and "dead"). Under `--watch` a ring also has
/// "laneRates": per lane its "lane", "itemsPerSecond" and
/// "megabytesPerSecond" since the last report (format 1 had these two in
/// the lanes).
struct RingReportJSON: Encodable {
    /// The version of this document's keys.
    static let format = 2

    struct Ring: Encodable {
        var location: String
        var kind: String
        var holders: [String]
        var creatorPID: Int32
        var creatorAlive: Bool
        var schema: String
        var slotBytes: Int
        var slotsPerLane: Int
        var info: RingInfo
        var laneRates: [LaneRate]?

        init(_ ring: RingSnapshot, rates: RingRates?) {
            location = ring.location.description
            if case .named = ring.location { kind = "named" } else { kind = "anonymous" }
            holders = ring.holders.map(\.description)
            creatorPID = ring.creatorPID
            creatorAlive = ring.creatorAlive
            schema = "\(ring.info.schema)"
            slotBytes = ring.slotBytes
            slotsPerLane = ring.info.lanes.first?.capacity ?? 0
            info = ring.info
            laneRates = rates.map { rates in
                ring.info.lanes.map { lane in
                    let rate = rates.itemsPerSecond[RingRates.key(ring.location, lane.lane)]
                    return LaneRate(lane: lane.lane, itemsPerSecond: rate,
                                    megabytesPerSecond: rate.map { $0 * Double(ring.itemBytes) / 1e6 })
                }
            }
        }

        private enum CodingKeys: String, CodingKey {
            case location, kind, holders, creatorPID, creatorAlive, schema, slotBytes, slotsPerLane, laneRates
        }

        /// RingInfo's keys, then where the ring is and its rates.
        func encode(to encoder: any Encoder) throws {
            try info.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(location, forKey: .location)
            try container.encode(kind, forKey: .kind)
            try container.encode(holders, forKey: .holders)
            try container.encode(creatorPID, forKey: .creatorPID)
            try container.encode(creatorAlive, forKey: .creatorAlive)
            try container.encode(schema, forKey: .schema)
            try container.encode(slotBytes, forKey: .slotBytes)
            try container.encode(slotsPerLane, forKey: .slotsPerLane)
            try container.encodeIfPresent(laneRates, forKey: .laneRates)
        }
    }

    /// A lane's rates since the last report (nil: the lane is new).
    struct LaneRate: Encodable {
        var lane: Int
        var itemsPerSecond: Double?
        var megabytesPerSecond: Double?
    }

    struct Problem: Encodable {
        var location: String
        var error: String
    }

    var format = RingReportJSON.format
    var rings: [Ring]
    var problems: [Problem]
    var unreadableProcesses: [Int32]
}

/// Items committed per second on each lane between two reports.
struct RingRates {
    /// By `key(location, lane)`.
    var itemsPerSecond: [String: Double] = [:]

    init(from earlier: RingReport, to later: RingReport, seconds: Double) {
        guard seconds > 0 else { return }
        var before: [String: UInt64] = [:]
        for ring in earlier.rings {
            for lane in ring.info.lanes { before[Self.key(ring.location, lane.lane)] = lane.committed }
        }
        for ring in later.rings {
            for lane in ring.info.lanes {
                let key = Self.key(ring.location, lane.lane)
                if let old = before[key], lane.committed >= old {
                    itemsPerSecond[key] = Double(lane.committed - old) / seconds
                }
            }
        }
    }

    static func key(_ location: RingLocation, _ lane: Int) -> String { "\(location)#\(lane)" }
}

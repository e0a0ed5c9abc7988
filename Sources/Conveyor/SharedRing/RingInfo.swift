/// A snapshot of a ring's state, read without stopping anyone (the numbers
/// of different lanes may be a moment apart): seed 002's `queue_info`, grown up.
///
/// Its `Encodable` form is the one JSON of a ring's state that the C
/// interface's `conveyor_ring_info` and `conveyor inspect --json` both
/// print, with stable keys: `"depth"`, `"capacity"` (all lanes),
/// `"resets"`, `"consumerPIDs"`, `"byteCount"` and `"lanes"`, each lane
/// `"lane"`, `"producerPID"` and `"producerState"` (`"running"`,
/// `"stopped"` or `"gone"`; both absent while the lane is free), `"depth"`,
/// `"capacity"`, `"committed"`, `"consumed"`, `"discarded"`,
/// `"sinceClaimSeconds"` (absent while free) and `"finished"`. The schema is not part of it: it never changes,
/// and whoever holds the ring has it.
public struct RingInfo: Sendable, CustomStringConvertible, Encodable {
    /// One lane's state.
    public struct Lane: Sendable, Encodable {
        /// The lane's index.
        public var lane: Int
        /// The producer's pid, or nil when the lane is free.
        public var producerPID: Int32?
        /// Whether that producer is running, stopped or gone (nil when there is none).
        public var producerState: ProducerState?
        /// Items committed and not yet taken by a consumer.
        public var depth: Int
        /// Slots in the lane.
        public var capacity: Int
        /// Items ever committed on the lane.
        public var committed: UInt64
        /// Items ever taken by consumers.
        public var consumed: UInt64
        /// Items dropped by resets.
        public var discarded: UInt64
        /// How long before this snapshot the current producer claimed the lane, or nil.
        public var sinceClaim: Duration?
        /// Whether the lane's producer called `finish()` (the lane stays closed until a reset).
        public var finished: Bool = false

        private enum CodingKeys: String, CodingKey {
            case lane, producerPID, producerState, depth, capacity, committed, consumed, discarded
            case sinceClaimSeconds, finished
        }

        /// The lane's JSON (see `RingInfo`); a free lane has no producer keys.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(lane, forKey: .lane)
            try container.encodeIfPresent(producerPID, forKey: .producerPID)
            try container.encodeIfPresent(producerState, forKey: .producerState)
            try container.encode(depth, forKey: .depth)
            try container.encode(capacity, forKey: .capacity)
            try container.encode(committed, forKey: .committed)
            try container.encode(consumed, forKey: .consumed)
            try container.encode(discarded, forKey: .discarded)
            let sinceClaimSeconds = sinceClaim.map { Double($0.conveyorNanoseconds) / 1e9 }
            try container.encodeIfPresent(sinceClaimSeconds, forKey: .sinceClaimSeconds)
            try container.encode(finished, forKey: .finished)
        }
    }

    /// A producer's liveness.
    public enum ProducerState: String, Sendable, Encodable {
        /// Running or sleeping (any state but T and the dead ones): alive.
        case running
        /// Stopped by a signal (state T: SIGSTOP, SIGTSTP): alive but not producing.
        case stopped
        /// Ended; a consumer will report it and free the lane.
        case gone
    }

    /// Every lane.
    public var lanes: [Lane]
    /// Pids of the attached consumers.
    public var consumerPIDs: [Int32]
    /// The item schema.
    public var schema: Schema
    /// The segment's size in bytes.
    public var byteCount: Int
    /// How many resets the ring has seen.
    public var resets: UInt64

    /// Items waiting in all lanes.
    public var depth: Int { lanes.reduce(0) { $0 + $1.depth } }
    /// Slots in all lanes.
    public var capacity: Int { lanes.reduce(0) { $0 + $1.capacity } }

    private enum CodingKeys: String, CodingKey {
        case depth, capacity, resets, consumerPIDs, byteCount, lanes
    }

    /// The ring's JSON (see the type's notes): the keys of `conveyor_ring_info` and `conveyor inspect --json`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(depth, forKey: .depth)
        try container.encode(capacity, forKey: .capacity)
        try container.encode(resets, forKey: .resets)
        try container.encode(consumerPIDs, forKey: .consumerPIDs)
        try container.encode(byteCount, forKey: .byteCount)
        try container.encode(lanes, forKey: .lanes)
    }

    /// A few lines: "depth/capacity" overall, then one line per lane.
    public var description: String {
        var lines = ["ring \(schema), \(ByteCount(byteCount)): \(depth)/\(capacity) items waiting, "
            + "consumers \(consumerPIDs), resets \(resets)"]
        for lane in lanes {
            let producer = lane.finished ? "finished"
                : lane.producerPID.map { "pid \($0) \(lane.producerState?.rawValue ?? "?")" } ?? "no producer"
            lines.append("  lane \(lane.lane): \(lane.depth)/\(lane.capacity), \(producer), committed \(lane.committed), "
                + "consumed \(lane.consumed), discarded \(lane.discarded)")
        }
        return lines.joined(separator: "\n")
    }
}

extension RingInfo {
    /// Nanoseconds from `claimedAt` (a CLOCK_MONOTONIC time read from shared
    /// memory, so untrusted) to `now`: 0 for a time in the future, and no
    /// overflow trap whatever the shared word holds.
    static func elapsed(since claimedAt: UInt64, now: Int64) -> Int64 {
        let (difference, overflow) = now.subtractingReportingOverflow(Int64(truncatingIfNeeded: claimedAt))
        return overflow ? 0 : max(0, difference)
    }
}

extension SharedRing {
    /// The ring's state now: per-lane depth and capacity, each producer's
    /// pid and liveness, committed and consumed counts, attached consumers.
    public var info: RingInfo {
        var lanes: [RingInfo.Lane] = []
        let now = SystemCalls.monotonicNanoseconds()
        for lane in 0..<laneCount {
            let (ownerState, storedHead, tail, discarded, claimedAt) = memory.snapshot(of: lane)
            // A producer that died between publishing an item and storing `head` left `head` one short
            // (until the lane's next owner recovers it); the item counts as committed all the same.
            let headSequence = memory.slot(lane: lane, position: storedHead).sequence.pointee.load(ordering: .acquiring)
            let head = LaneCursor.recovered(head: storedHead, sequence: headSequence, slots: UInt64(slotsPerLane))
            let finished = if case .finished = ownerState { true } else { false }
            let owner: PeerIdentity? = if case let .owned(identity) = ownerState { identity } else { nil }
            let pid = owner?.pid ?? 0
            var state: RingInfo.ProducerState?
            if let owner {
                switch owner.liveness {
                case .running: state = .running
                case .stopped: state = .stopped
                case .gone: state = .gone
                }
            }
            lanes.append(RingInfo.Lane(
                lane: lane, producerPID: pid == 0 ? nil : pid, producerState: state,
                depth: LaneCursor.depth(head: head, tail: tail, slots: slotsPerLane),
                capacity: slotsPerLane, committed: head, consumed: tail >= discarded ? tail - discarded : 0,
                discarded: discarded, sinceClaim: pid == 0 || claimedAt == 0
                    ? nil : .nanoseconds(RingInfo.elapsed(since: claimedAt, now: now)),
                finished: finished))
        }
        return RingInfo(lanes: lanes, consumerPIDs: memory.consumers.map(\.pid), schema: schema, byteCount: byteCount,
                        resets: memory.currentEpoch)
    }

    /// Items waiting in each lane now: cheaper than `info` (no /proc reads).
    var laneDepths: [Int] {
        (0..<laneCount).map(memory.depth(of:))
    }

    /// Items waiting in all lanes now: `laneDepths`' sum, without an array.
    var queuedItems: Int {
        (0..<laneCount).reduce(0) { $0 + memory.depth(of: $1) }
    }
}

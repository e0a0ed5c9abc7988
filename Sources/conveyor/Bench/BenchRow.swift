import Foundation

/// One measured result, in the row format of the shared scenarios: one JSON
/// object a line.
struct BenchRow: Codable, Sendable {
    var scenario: String
    var impl: String
    var items: Int
    var item_bytes: Int
    var workers: Int
    var seconds: Double
    var items_per_s: Double
    var MB_per_s: Double
    var corrupt: Int = 0
    var missing: Int = 0
    var duplicated: Int = 0
    var p50_us: Double?
    var p99_us: Double?
    var efficiency: Double?
    /// CPU share of one core used while idle-waiting, where measured.
    var idle_cpu_percent: Double?
    /// Wake-ups per second of the idle-waiting thread (its voluntary context switches), where measured.
    var idle_wakeups_per_s: Double?
    /// Anything else worth reading, such as a speed-up.
    var note: String?

    init(scenario: String, impl: String, items: Int, itemBytes: Int, workers: Int, seconds: Double,
         corrupt: Int = 0, missing: Int = 0, duplicated: Int = 0) {
        self.scenario = scenario
        self.impl = impl
        self.items = items
        self.item_bytes = itemBytes
        self.workers = workers
        self.seconds = (seconds * 1e4).rounded() / 1e4
        let delivered = max(0, items - missing)
        self.items_per_s = (Double(delivered) / seconds * 10).rounded() / 10
        self.MB_per_s = (Double(delivered * itemBytes) / seconds / 1e6 * 10).rounded() / 10
        self.corrupt = corrupt
        self.missing = missing
        self.duplicated = duplicated
    }

    /// The row as one line of JSON.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

import ArgumentParser
import Conveyor

/// `conveyor clean`: removes the named ring segments crashed programs left in /dev/shm.
struct CleanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        abstract: "Removes named rings in /dev/shm whose creator is dead, and says how much memory that frees.",
        discussion: """
            A segment is a Conveyor ring when it starts with the ring's magic ("CONVRING"), whatever its name; \
            its header's format version (1 to \(SharedRing.knownFormatVersions.upperBound), older ones included) \
            says where its creator is recorded. It is removed when that creator no longer runs; so is a \
            conveyor-ring-PID-… file whose creator PID died before writing its header. A live ring, a ring of \
            a newer format version, and any file that is not a Conveyor segment are never touched.
            """
    )

    @Flag(help: "List what would be removed; remove nothing.")
    var dryRun = false

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.apply()
        let stale = SharedRing.staleSegments()
        let removed: [StaleSegment]
        if dryRun {
            removed = stale
        } else {
            let names = Set(SharedRing.removeStaleSegments())
            removed = stale.filter { names.contains($0.name) }
        }
        let verb = dryRun ? "would remove" : "removed"
        for segment in removed {
            let format = segment.formatVersion.map { "ring format version \($0)" } ?? "header never written"
            Terminal.line("\(verb) \(segment.name) (\(Format.bytes(segment.byteCount)), \(format); "
                + "creator pid \(segment.creatorPID) is dead)")
        }
        let freed = removed.reduce(0) { $0 + $1.byteCount }
        if removed.isEmpty {
            Terminal.line("Nothing to remove: no Conveyor segment in /dev/shm has a dead creator.")
        } else {
            Terminal.line("\(dryRun ? "Would free" : "Freed") \(Format.bytes(freed)) in \(removed.count) segment"
                + "\(removed.count == 1 ? "" : "s").")
        }
    }
}

import Synchronization

/// Keeps a shared mapping from crashing this process when another process
/// shrinks its file (which makes every touch beyond the new end a SIGBUS),
/// and says when that happened.
///
/// Two parts, both only for files whose size is not sealed (named segments;
/// sealed memfds cannot shrink): the process's SIGBUS guard (fault_guard.c)
/// catches a touch of the lost pages, maps zero pages over the whole
/// mapping and sets `flag`, so the touch completes on zeros; and the
/// `PeerWatcher` watches the file with inotify, so a process that touches
/// nothing (one asleep in a wait) learns of the shrink too: the watcher maps
/// the zeros itself, sets the flag and wakes every waiter.
final class SegmentGuard: @unchecked Sendable {
    // @unchecked: `flag` is only accessed atomically; the entry and watch
    // are set in init and cleared once, by `stop()` (the owner's deinit).
    private let flagWord: UnsafeMutablePointer<Atomic<UInt32>>
    private var entry: Int32?
    private var sizeWatch: PeerWatcher.SizeWatch?

    /// Guards `size` bytes at `base`, mapped from `descriptor`.
    init(base: UnsafeMutableRawPointer, size: Int, descriptor: Int32) {
        flagWord = .allocate(capacity: 1)
        flagWord.initialize(to: Atomic(0))
        guard !SystemCalls.isShrinkSealed(descriptor) else { return }
        entry = SystemCalls.guardMapping(base, size: size, flag: flag)
        sizeWatch = PeerWatcher.shared?.watchSize(descriptor: descriptor, base: base, size: size, flag: flag)
    }

    deinit {
        stop()
        flagWord.deallocate()
    }

    /// The word the guard and the watcher set to 1.
    var flag: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(flagWord).assumingMemoryBound(to: UInt32.self)
    }

    /// Whether the file was shrunk under the mapping (it now holds zeros).
    var truncated: Bool { flagWord.pointee.load(ordering: .acquiring) != 0 }

    /// Stops guarding; call before the mapping is unmapped.
    func stop() {
        if let entry { SystemCalls.unguardMapping(entry) }
        entry = nil
        sizeWatch = nil
    }
}

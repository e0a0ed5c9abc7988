import Synchronization

/// One thread per process that learns of other processes' deaths without
/// polling: it holds a pidfd for every process a ring waiter depends on
/// (producers for consumers, consumers for producers) in one epoll set and
/// sleeps in `epoll_wait`. When a pidfd turns readable (its process ended)
/// it marks that process's `Watch` ended, then bumps and wakes `alarm`, a
/// process-private futex word that every ring waiter sleeps on beside the
/// ring's shared word (`futex_waitv`). So a waiter sleeps without a timeout
/// while its peers live, and wakes as soon as one dies. It also watches
/// mapped files whose size is not sealed (inotify, in the same epoll set)
/// and raises the alarm when one shrinks under its mapping (`SegmentGuard`).
///
/// The thread is started on first use and lives as long as the process
/// (it holds no resource of any ring). A pidfd stays open while somebody
/// holds a `Watch` on its process, and is closed with the last hold or
/// as soon as the process ends.
///
/// Forks: a fork copies only the forking thread, so a lock the watcher
/// thread held at that moment (the Swift runtime's metadata lock, taken the
/// first time the thread meets a type; the table's; the allocator's) would
/// stay held in the child for good. Two things prevent it. The thread is a
/// quiet thread (`SystemCalls.startQuietThread`): a fork waits until it is
/// blocked in `epoll_wait`, where it holds nothing, and it cannot leave
/// that wait until the fork is done. And it does its first-time work before
/// the making of the watcher returns (`warmUp`, then a handshake), so a fork
/// seldom has to wait for it at all.
final class PeerWatcher: @unchecked Sendable {
    // @unchecked: `alarmWord` and `startedWord` are allocated once, never
    // freed (the watcher lives as long as the process) and only accessed
    // atomically; the table is behind a lock; the rest is immutable.
    /// The process's watcher, or nil where epoll, pidfds or futex_waitv are
    /// missing (old kernels): waiters then re-check their peers in bounded sleeps.
    /// A forked child makes its own on first use: the parent's watcher
    /// thread does not run in the child, and the parent's epoll set and
    /// table are not the child's to change.
    static var shared: PeerWatcher? {
        let generation = SystemCalls.forkGeneration()
        if let instance = Instance.current, instance.generation == generation { return instance.watcher }
        let (watcher, made) = SystemCalls.withForkLock { () -> (PeerWatcher?, Bool) in
            if let instance = Instance.current, instance.generation == generation { return (instance.watcher, false) }
            let instance = Instance(generation: generation, watcher: PeerWatcher())
            Instance.current = instance
            return (instance.watcher, true)
        }
        // Outside the fork lock: a log handler may use Conveyor too.
        if made { warnAboutStart(of: watcher, generation: generation) }
        return watcher
    }

    /// Logs what went wrong, if anything, as this process made its watcher.
    private static func warnAboutStart(of watcher: PeerWatcher?, generation: UInt) {
        if generation > 0, SystemCalls.forkedWhileBusy {
            ConveyorLog.logger.warning(
                "this process was forked while a thread Conveyor started in its parent stayed busy for 5 s; it may wait forever on a lock that thread held: start processes that use Conveyor with spawn or forkserver")
        }
        if let watcher, !watcher.hasStarted {
            ConveyorLog.logger.warning(
                "the peer watcher thread did not start within 5 s (an overloaded machine?); going on: it reports deaths once it runs, and a fork waits for it")
        }
    }

    /// The watcher made in one fork generation of the process (kept for the
    /// life of the process, like the watcher itself).
    private final class Instance: Sendable {
        let generation: UInt
        let watcher: PeerWatcher?

        init(generation: UInt, watcher: PeerWatcher?) {
            self.generation = generation
            self.watcher = watcher
        }

        /// The address of the current instance (retained for good), or 0.
        private static let address = Atomic<UInt>(0)

        /// The instance of the latest generation made, if any (set under the fork lock).
        static var current: Instance? {
            get {
                let bits = address.load(ordering: .acquiring)
                guard let pointer = UnsafeRawPointer(bitPattern: bits) else { return nil }
                return Unmanaged<Instance>.fromOpaque(pointer).takeUnretainedValue()
            }
            set {
                let bits = newValue.map { UInt(bitPattern: Unmanaged.passRetained($0).toOpaque()) } ?? 0
                address.store(bits, ordering: .releasing)
            }
        }
    }

    /// Whether one watched process has ended (set by the watcher thread).
    final class EndFlag: Sendable {
        private let flag = Atomic<Bool>(false)
        /// True once the process has ended.
        var isSet: Bool { flag.load(ordering: .acquiring) }
        fileprivate func set() { flag.store(true, ordering: .releasing) }
    }

    /// One user's hold on the watch of a process: the process stays watched
    /// (its pidfd open) while a hold on it lives, and no longer.
    final class Watch {
        private let watcher: PeerWatcher
        private let key: UInt64
        private let flag: EndFlag

        fileprivate init(watcher: PeerWatcher, key: UInt64, flag: EndFlag) {
            self.watcher = watcher
            self.key = key
            self.flag = flag
        }

        deinit { watcher.release(key) }

        /// True once the process has ended.
        var ended: Bool { flag.isSet }
    }

    private struct Entry {
        let flag: EndFlag
        var holds: Int
        var descriptor: Int32?
    }

    /// A watch on a mapped file's size: while it lives, the watcher maps
    /// zeros over the mapping and sets the flag if the file shrinks below it.
    final class SizeWatch {
        private let watcher: PeerWatcher
        fileprivate let token: Int

        fileprivate init(watcher: PeerWatcher, token: Int) {
            self.watcher = watcher
            self.token = token
        }

        deinit { watcher.unwatchSize(token) }
    }

    private struct SizeEntry: @unchecked Sendable {
        // @unchecked: `base` and `flag` are addresses the segment's owner keeps
        // mapped (and allocated) while the watch lives; the watcher thread only
        // maps zeros over the one and stores atomically to the other.
        let descriptor: Int32
        let base: UnsafeMutableRawPointer
        let size: Int
        let flag: UnsafeMutablePointer<UInt32>
        let inotifyWatch: Int32
    }

    private struct Table {
        var byKey: [UInt64: Entry] = [:]
        var byDescriptor: [Int32: UInt64] = [:]
        var sizes: [Int: SizeEntry] = [:]
        var nextToken = 0
    }

    private let epoll: Int32
    private let inotify: Int32
    private let table = Locked(Table())
    private let alarmWord: UnsafeMutablePointer<Atomic<UInt32>>
    /// 0 until the thread has done its first-time work and is about to wait for events.
    private let startedWord: UnsafeMutablePointer<Atomic<UInt32>>
    /// The fork generation of the process that made the watcher: only it may
    /// change the epoll and inotify sets, which a forked child shares.
    private let generation: UInt

    /// How long the making of a watcher waits for its thread to report ready.
    private static let startTimeout: Duration = .seconds(5)

    private init?() {
        guard let epoll = try? SystemCalls.epollCreate() else { return nil }
        // futex_waitv exists since Linux 5.16: probe it with a value that does not match.
        var probe: UInt32 = 1
        let supported = withUnsafeMutablePointer(to: &probe) { word in
            SystemCalls.futexWaitEither(word, expected: 0, or: word, expected: 0, timeoutNanoseconds: 0) != nil
        }
        guard supported else {
            SystemCalls.close(epoll)
            return nil
        }
        guard let inotify = try? SystemCalls.inotifyCreate() else {
            SystemCalls.close(epoll)
            return nil
        }
        do throws(ConveyorError) {
            try SystemCalls.epollAdd(epoll, inotify)
        } catch {
            SystemCalls.close(inotify)
            SystemCalls.close(epoll)
            return nil
        }
        self.epoll = epoll
        self.inotify = inotify
        alarmWord = .allocate(capacity: 1)
        alarmWord.initialize(to: Atomic(0))
        startedWord = .allocate(capacity: 1)
        startedWord.initialize(to: Atomic(0))
        generation = SystemCalls.forkGeneration()
        do {
            try SystemCalls.startQuietThread { [self] in run() }
        } catch {
            SystemCalls.close(inotify)
            SystemCalls.close(epoll)
            return nil
        }
        awaitStart()
    }

    /// Whether the thread has done its first-time work and reported ready.
    private var hasStarted: Bool { startedWord.pointee.load(ordering: .acquiring) != 0 }

    /// Waits until the thread reports ready (`run`), at most `startTimeout`.
    private func awaitStart() {
        let word = UnsafeMutableRawPointer(startedWord).assumingMemoryBound(to: UInt32.self)
        let deadline = Deadline.after(PeerWatcher.startTimeout)
        while !hasStarted {
            guard let left = deadline?.remainingNanoseconds, left > 0 else { return }
            _ = SystemCalls.futexWait(word, expected: 0, timeoutNanoseconds: left, shared: false)
        }
    }

    /// Whether this process made the watcher (it is not a forked child of
    /// the one that did), and so may change its epoll and inotify sets.
    private var ownsEventSets: Bool { SystemCalls.forkGeneration() == generation }

    /// The process-private futex word bumped after every death the watcher sees.
    var alarm: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(alarmWord).assumingMemoryBound(to: UInt32.self)
    }

    /// The alarm's current value: read it before checking a condition, and
    /// sleep on it with that value.
    var alarmValue: UInt32 { alarmWord.pointee.load(ordering: .acquiring) }

    /// A hold on the watch of process `pid`, opening a pidfd for it when
    /// nobody watches `key` yet (`key` names exactly one process, such as
    /// its pid and start time). `isSameProcess` is asked once the pidfd is
    /// open, to tell the process meant from a later one that reuses the
    /// pid: if it says no, the process meant has ended. Nil when no pidfd
    /// can be had for another reason than the process being gone (no
    /// descriptors left): the caller then checks the process itself.
    func watch(pid: Int32, key: UInt64, isSameProcess: () -> Bool) -> Watch? {
        let flag = table.withLock { table -> EndFlag? in
            if var entry = table.byKey[key] {
                entry.holds += 1
                table.byKey[key] = entry
                return entry.flag
            }
            let flag = EndFlag()
            var descriptor: Int32?
            do throws(ConveyorError) {
                let pidfd = try SystemCalls.pidfdOpen(pid)
                if isSameProcess() {
                    do throws(ConveyorError) {
                        try SystemCalls.epollAdd(epoll, pidfd)
                    } catch {
                        SystemCalls.close(pidfd)
                        return nil
                    }
                    descriptor = pidfd
                    table.byDescriptor[pidfd] = key
                } else {
                    SystemCalls.close(pidfd)
                    flag.set()
                }
            } catch .systemCall(_, let code) where code == 3 /* ESRCH */ {
                flag.set()
            } catch {
                return nil
            }
            table.byKey[key] = Entry(flag: flag, holds: 1, descriptor: descriptor)
            return flag
        }
        return flag.map { Watch(watcher: self, key: key, flag: $0) }
    }

    /// Drops one hold on `key`; the last one closes its pidfd.
    private func release(_ key: UInt64) {
        table.withLock { table in
            guard var entry = table.byKey[key] else { return }
            entry.holds -= 1
            guard entry.holds == 0 else {
                table.byKey[key] = entry
                return
            }
            table.byKey[key] = nil
            if let descriptor = entry.descriptor {
                table.byDescriptor[descriptor] = nil
                // In a forked child (a hold it inherited), the epoll set is still the parent's.
                if ownsEventSets { SystemCalls.epollRemove(epoll, descriptor) }
                SystemCalls.close(descriptor)
            }
        }
    }

    /// Watches the file behind `descriptor`, mapped at `base` for `size`
    /// bytes: when it shrinks below `size`, the watcher maps zero pages over
    /// the mapping, stores 1 into `flag` and raises the alarm. Nil when the
    /// file cannot be watched.
    func watchSize(descriptor: Int32, base: UnsafeMutableRawPointer, size: Int,
                   flag: UnsafeMutablePointer<UInt32>) -> SizeWatch? {
        let token = table.withLock { table -> Int? in
            guard let watch = try? SystemCalls.inotifyWatchModification(inotify, descriptor: descriptor) else { return nil }
            let token = table.nextToken
            table.nextToken += 1
            table.sizes[token] = SizeEntry(descriptor: descriptor, base: base, size: size, flag: flag, inotifyWatch: watch)
            return token
        }
        return token.map { SizeWatch(watcher: self, token: $0) }
    }

    private func unwatchSize(_ token: Int) {
        table.withLock { table in
            guard let entry = table.sizes.removeValue(forKey: token) else { return }
            // One inotify watch serves every mapping of the same file: remove it with the last.
            // In a forked child (a watch it inherited), the inotify instance is still the parent's.
            if ownsEventSets, !table.sizes.values.contains(where: { $0.inotifyWatch == entry.inotifyWatch }) {
                SystemCalls.inotifyUnwatch(inotify, entry.inotifyWatch)
            }
        }
    }

    /// After a file changed: every watched mapping whose file is now shorter
    /// than the mapping gets zero pages and its flag set (table locked).
    private static func checkSizes(_ table: Table, changed: Set<Int32>) {
        for entry in table.sizes.values where changed.contains(entry.inotifyWatch) {
            guard let size = try? SystemCalls.fileSize(entry.descriptor), size < entry.size else { continue }
            SystemCalls.mapZeros(entry.base, size: entry.size)
            UnsafeMutableRawPointer(entry.flag).assumingMemoryBound(to: Atomic<UInt32>.self)
                .pointee.store(1, ordering: .releasing)
        }
    }

    /// Wakes every waiter sleeping on the alarm, as a death does.
    func raiseAlarm() {
        alarmWord.pointee.wrappingAdd(1, ordering: .releasing)
        SystemCalls.futexWake(alarm, shared: false)
    }

    private func run() {
        warmUp()
        startedWord.pointee.store(1, ordering: .releasing)
        SystemCalls.futexWake(UnsafeMutableRawPointer(startedWord).assumingMemoryBound(to: UInt32.self), shared: false)
        while true {
            guard let ready = try? SystemCalls.epollWaitQuietly(epoll), !ready.isEmpty else { continue }
            handle(ready)
        }
    }

    /// The thread's first-time work, done before it reports ready: `handle`
    /// once on a pidfd (a watch of this very process, through `watch` and
    /// `release`) and on the inotify instance (nothing to read, no file
    /// watched yet). So the generic types and closures of event handling
    /// have their metadata made now, and a later event seldom takes a lock
    /// of the runtime, which keeps a fork's wait for the thread short.
    /// Correctness does not rest on this: a fork waits for the thread
    /// anyway. Nobody else can reach the table yet: the watcher is
    /// published only once its making returns.
    private func warmUp() {
        let key: UInt64 = 0  // no process's key: a key holds a pid and a start time
        guard let watch = watch(pid: SystemCalls.processID(), key: key, isSameProcess: { true }) else { return }
        withExtendedLifetime(watch) {
            let descriptor = table.withLock { $0.byKey[key]?.descriptor }
            handle([inotify] + (descriptor.map { [$0] } ?? []))
        }
    }

    /// Marks the processes behind the ready pidfds `ready` ended, checks the
    /// watched files' sizes if `inotify` is among them, and raises the alarm.
    private func handle(_ ready: [Int32]) {
        table.withLock { table in
            if ready.contains(inotify) {
                PeerWatcher.checkSizes(table, changed: Set(SystemCalls.inotifyReadyWatches(inotify)))
            }
            for descriptor in ready where descriptor != inotify {
                guard let key = table.byDescriptor.removeValue(forKey: descriptor),
                      var entry = table.byKey[key] else { continue }
                entry.flag.set()
                entry.descriptor = nil
                table.byKey[key] = entry
                SystemCalls.epollRemove(epoll, descriptor)
                SystemCalls.close(descriptor)
            }
        }
        raiseAlarm()
    }
}

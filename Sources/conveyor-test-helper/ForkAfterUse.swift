import Conveyor
import ConveyorTestDatasets

#if canImport(Glibc)
import Glibc
#endif

/// `conveyor-test-helper fork-after-use --trials T --rounds R --timeout-ms M`: forks children right after the
/// forking process used Conveyor, T x R times, and prints "forks F hung H failed X" (exit status 1 when H or X
/// is not 0). The Swift twin of python/tests/fork_after_use.py (whose docstring says why it is built so).
///
/// A fork copies only the forking thread; a lock another thread held then stays held in the child. Conveyor's
/// threads do their first-time work (type metadata, made under a lock of the Swift runtime) when they start
/// and when they meet their first events, so each trial is a fresh process, forked from this one before it
/// used any ring (only the parent-death watch thread runs here). In each round a trial makes a named ring and
/// a consumer (starting its peer watcher in round one; the round before's child ended, a death for it to
/// handle, in later rounds) and forks a producer at once, which attaches, writes 3 items and `_exit`s; a child
/// that has not ended within the timeout is killed and counted hung.
enum ForkAfterUse {
    static let items = 3
    static let hung: Int32 = 2
    static let failed: Int32 = 3

    static func run(_ options: Options) -> Never {
        let trials = options.int("--trials", 50), rounds = options.int("--rounds", 3)
        let timeout = Duration.milliseconds(options.int("--timeout-ms", 10_000))
        var hungTrials = 0, failedTrials = 0
        for _ in 0..<trials {
            let pid = fork()
            if pid == 0 {
                setpgid(0, 0)  // so that a hung trial goes with its child
                _exit(trial(rounds: rounds, timeout: timeout))
            }
            guard pid > 0 else {
                say("fork failed: errno \(errno)", to: 2)
                exit(2)
            }
            setpgid(pid, pid)  // as the child does: whichever runs first
            // A round waits at most `timeout` for its items and as long again for its child.
            let status = waitForExit(of: pid, within: timeout * (2 * rounds) + .seconds(5), group: true)
            if status == nil {
                for segment in SharedRing.staleSegments() where segment.creatorPID == pid {
                    unlink("/dev/shm/" + segment.name)
                }
            }
            let code = status.map { ($0 & 0x7f) == 0 ? ($0 >> 8) & 0xff : 128 + ($0 & 0x7f) } ?? hung
            if code == hung { hungTrials += 1 } else if code != 0 { failedTrials += 1 }
        }
        say("forks \(trials * rounds) hung \(hungTrials) failed \(failedTrials)")
        exit(hungTrials == 0 && failedTrials == 0 ? 0 : 1)
    }

    /// One fresh process's rounds: 0, `hung` when a child hung, `failed` for another failure.
    static func trial(rounds: Int, timeout: Duration) -> Int32 {
        do {
            let schema = try TestItems.schema()
            var outcome: Int32 = 0
            for _ in 0..<rounds {
                let ring = try SharedRing.create(schema: schema, lanes: 1, slotsPerLane: 4, naming: .named(nil))
                let consumer = try ring.consumer()
                let pid = fork()
                if pid == 0 { produce(name: ring.name ?? "", schema: schema, timeout: timeout) }
                guard pid > 0 else { return failed }
                var checker = TestItemChecker(items: TestItems())
                do {
                    for _ in 0..<items { try checker.check(consumer.next(timeout: timeout)) }
                    if checker.corrupt > 0 { outcome = failed }
                } catch {
                    outcome = failed
                }
                guard let status = waitForExit(of: pid, within: timeout) else { return hung }
                if status != 0 { outcome = failed }
            }
            return outcome
        } catch {
            return failed
        }
    }

    /// The forked producer: attach, write the items, end without running anything of the parent's.
    static func produce(name: String, schema: Schema, timeout: Duration) -> Never {
        do {
            let ring = try SharedRing.attach(name: name, expecting: schema)
            let producer = try ring.producer()
            let testItems = TestItems()
            for k in 0..<items {
                var writer = try producer.reserve(timeout: timeout)
                try testItems.write(k, into: &writer)
                try writer.commit()
            }
            try producer.finish()
            _exit(0)
        } catch {
            _exit(failed)
        }
    }

    /// The wait status of child `pid`, or nil when it has not ended within `timeout` (it is then killed, with
    /// its process group if `group`).
    static func waitForExit(of pid: pid_t, within timeout: Duration, group: Bool = false) -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if clock.now > deadline {
                kill(group ? -pid : pid, SIGKILL)
                waitpid(pid, &status, 0)
                return nil
            }
            usleep(1000)
        }
        return status
    }
}

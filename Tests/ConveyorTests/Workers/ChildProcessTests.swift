import Testing
@testable import Conveyor

/// Reaping a child is a bounded wait that reports what went wrong.
@Suite struct ChildProcessTests {
    @Test func reapingAProcessThatIsNotAChildThrowsAtOnce() throws {
        // Process 1 is never this process's child: waitpid fails with ECHILD, which must be reported.
        let started = ContinuousClock.now
        #expect(throws: ConveyorError.self) { try ChildProcess.reap(pid: 1, within: .seconds(60)) }
        #expect(ContinuousClock.now - started < .seconds(30), "the error is not waited out")
    }

    @Test func reapingARunningChildTimesOutThenReapsOnceItEnds() throws {
        let child = try ChildProcess.spawn(executable: "/bin/sleep", arguments: ["60"])
        do {
            _ = try ChildProcess.reap(pid: child.pid, within: .milliseconds(50))
            Issue.record("a running child was reported reaped")
        } catch {
            guard case .timedOut = error else { throw error }
        }
        #expect(child.isRunning)
        try child.kill()
        #expect(try child.wait(timeout: .seconds(30)) == .signaled(ChildProcess.killSignal))
    }

    @Test func waitingForAChildReapedBehindItsBackThrowsAtOnce() throws {
        let child = try ChildProcess.spawn(executable: "/bin/true")
        // Reap it without the handle knowing, as a stray waitpid elsewhere in the process would.
        let deadline = ContinuousClock.now + .seconds(30)
        while try SystemCalls.reap(child.pid) == nil, ContinuousClock.now < deadline { SystemCalls.sleep(nanoseconds: 1_000_000) }
        let started = ContinuousClock.now
        do {
            _ = try child.wait(timeout: .seconds(60))
            Issue.record("a child reaped elsewhere was reported ended by this handle")
        } catch {
            // ECHILD surfaces; it is not taken for "still running" and waited out.
            guard case let .systemCall(_, code) = error, code == 10 /* ECHILD */ else { throw error }
        }
        #expect(ContinuousClock.now - started < .seconds(30), "the error is not waited out")
    }

    @Test func aWaitThatTimesOutSaysWhatTheChildIsDoing() throws {
        let child = try ChildProcess.spawn(executable: "/bin/sleep", arguments: ["60"])
        do {
            _ = try child.wait(timeout: .milliseconds(100))
            Issue.record("a sleeping child was reported ended")
        } catch {
            guard case let .timedOut(operation, _) = error else { throw error }
            #expect(operation.contains("state "), "\(operation)")
            #expect(operation.contains("wchan "), "\(operation)")
            // Each thread: sleep has one, asleep (S) in a system call.
            #expect(operation.contains("; threads: \(child.pid) S wchan "), "\(operation)")
            #expect(operation.contains(", syscall "), "\(operation)")
        }
        // The whole account: /proc/PID/status lines, then each thread with its kernel stack (root only).
        let report = ChildProcess.kernelReport(of: child.pid)
        #expect(report.contains("State:") && report.contains("Threads:") && report.contains("SigBlk:"), "\(report)")
        #expect(report.contains("thread \(child.pid) S wchan "), "\(report)")
        if getuid() == 0 { #expect(report.contains("    "), "a stack frame per line, as root: \(report)") }
        try child.kill()
        #expect(try child.wait(timeout: .seconds(30)) == .signaled(ChildProcess.killSignal))
    }
}

#if canImport(Glibc)
import Glibc
#endif

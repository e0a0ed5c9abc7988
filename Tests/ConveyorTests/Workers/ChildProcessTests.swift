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
}

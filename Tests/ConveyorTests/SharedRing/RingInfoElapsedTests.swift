import Testing
@testable import Conveyor

/// A lane's claim time is read from shared memory: any value must give a sane age, never a trap.
@Suite struct RingInfoElapsedTests {
    @Test func anyClaimTimeGivesANonNegativeAgeWithoutTrapping() {
        #expect(RingInfo.elapsed(since: 100, now: 250) == 150)
        #expect(RingInfo.elapsed(since: 300, now: 250) == 0, "a claim in the future is 0 old")
        // The word the attach fuzz left (negative as Int64) two hours after boot: now - it overflows.
        #expect(RingInfo.elapsed(since: 0x8000_0682_29e9_c177, now: 7_200_000_000_000) == 0)
        #expect(RingInfo.elapsed(since: UInt64.max, now: Int64.max) == 0)
    }
}

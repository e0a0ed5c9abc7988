import Foundation
import Synchronization
import Testing
@testable import Conveyor

/// A producer and a consumer that share one processor for certain (both
/// pinned to processor 0): each one's spin is then time taken from the
/// other, and only its yields and sleeps let the other run. And the remedy
/// for two unpinned ones that the scheduler leaves on one processor:
/// `ProcessorSharing` moves a waiter that keeps finding the other side on
/// its own processor.
@Suite struct SharedProcessorTests {
    /// Whether this process may run on more than one processor.
    static let severalProcessors = SystemCalls.allowedProcessors().count >= 2

    /// Runs `body` on a new thread pinned to processor 0 and waits for it (at
    /// most 60 s); the thread's allowed processors after `body` land in `allowedAfter`.
    static func onProcessorZero(
        allowedAfter: Locked<[Int]>? = nil, _ body: @escaping @Sendable () -> Void
    ) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = SystemCalls.pinCurrentThread(toProcessor: 0)
            body()
            allowedAfter?.withLock { $0 = SystemCalls.allowedProcessors() }
            done.signal()
        }.start()
        return done
    }

    /// Runs `body` on a new thread and returns its result (waits at most 60 s).
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T? {
        let result = Locked<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            let value = body()
            result.withLock { $0 = value }
            done.signal()
        }.start()
        _ = done.wait(timeout: .now() + 60)
        return result.withLock { $0 }
    }

    /// Two zeroed side records of `ProcessorSharing`, freed after `body`.
    static func withRecords<T>(_ body: (_ own: UnsafeMutableRawPointer, _ peer: UnsafeMutableRawPointer) -> T) -> T {
        let bytes = 2 * ProcessorSharing.recordBytes
        let records = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 128)
        records.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        defer { records.deallocate() }
        return body(records, records + ProcessorSharing.recordBytes)
    }

    /// Records, in the side record at `record`, the processor the caller runs on now.
    static func recordSightingHere(at record: UnsafeMutableRawPointer) {
        let sighting = ProcessorSharing.Sighting(
            processor: SystemCalls.currentProcessor(), microseconds: SystemCalls.monotonicNanoseconds() / 1_000)
        record.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.store(sighting.word, ordering: .relaxed)
    }

    @Test func aProducerAndConsumerOnOneProcessorHandOverEveryItemInOrderAndStayPinned() throws {
        let queue = try BoundedQueue<Int>(capacity: 2)
        let count = 20_000
        let producerAllowed = Locked<[Int]>([])
        let producer = Self.onProcessorZero(allowedAfter: producerAllowed) {
            for k in 0..<count { try! queue.put(k, timeout: .seconds(60)) }
        }
        let received = Locked<[Int]>([])
        let consumerAllowed = Locked<[Int]>([])
        let consumer = Self.onProcessorZero(allowedAfter: consumerAllowed) {
            var got: [Int] = []
            got.reserveCapacity(count)
            for _ in 0..<count {
                guard let k = try? queue.get(timeout: .seconds(60)) else { break }
                got.append(k)
            }
            received.withLock { $0 = got }
        }
        #expect(producer.wait(timeout: .now() + 120) == .success)
        #expect(consumer.wait(timeout: .now() + 120) == .success)
        #expect(received.withLock { $0 } == Array(0..<count))
        // The waits tried to move them apart (they share a processor) and
        // must have left the pinning alone.
        #expect(producerAllowed.withLock { $0 } == [0])
        #expect(consumerAllowed.withLock { $0 } == [0])
    }

    @Test(.enabled(if: severalProcessors))
    func aMovedThreadLeavesItsProcessorAndKeepsItsAllowedSet() {
        let outcome = Self.onThread { () -> ([Int], SystemCalls.ProcessorMove?, [Int]) in
            let before = SystemCalls.allowedProcessors()
            let move = SystemCalls.moveToAnotherProcessor()
            return (before, move, SystemCalls.allowedProcessors())
        }
        guard let (before, move, after) = outcome, let move else {
            Issue.record("the thread was not moved")
            return
        }
        #expect(move.from != move.to)
        #expect(before.contains(move.from) && before.contains(move.to))
        #expect(after == before)
    }

    @Test func aThreadPinnedToOneProcessorIsNotMoved() {
        let outcome = Self.onThread { () -> (Bool, SystemCalls.ProcessorMove?, [Int]) in
            let pinned = SystemCalls.pinCurrentThread(toProcessor: 0)
            return (pinned, SystemCalls.moveToAnotherProcessor(), SystemCalls.allowedProcessors())
        }
        #expect(outcome?.0 == true)
        #expect(outcome?.1 == nil)
        #expect(outcome?.2 == [0])
    }

    /// The stuck mode's remedy end to end, on real records and a real move:
    /// a waiter whose every yield finds the other side's fresh record naming
    /// its own processor moves off it after `streakToMove` yields, keeps its
    /// allowed set, and records where it went.
    @Test(.enabled(if: severalProcessors))
    func aWaiterThatKeepsFindingTheOtherSideOnItsProcessorMovesOffIt() {
        let outcome = Self.onThread { () -> (SystemCalls.ProcessorMove?, Int, [Int], [Int], ProcessorSharing.Sighting) in
            Self.withRecords { own, peer in
                let sharing = ProcessorSharing(own: own, peer: peer)
                let before = SystemCalls.allowedProcessors()
                var yields = 0
                var move: SystemCalls.ProcessorMove?
                // The scheduler may move the thread between two yields and so
                // reset the streak: allow it many tries.
                while move == nil, yields < 100 * Int(ProcessorSharing.streakToMove) {
                    Self.recordSightingHere(at: peer)
                    move = sharing.yieldProcessor()
                    yields += 1
                }
                let word = own.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.load(ordering: .relaxed)
                return (move, yields, before, SystemCalls.allowedProcessors(), ProcessorSharing.Sighting(word: word))
            }
        }
        guard let (move, yields, before, after, sighting) = outcome, let move else {
            Issue.record("no move in \(outcome?.1 ?? 0) yields that found the other side on the same processor")
            return
        }
        #expect(yields >= Int(ProcessorSharing.streakToMove))
        #expect(move.from != move.to)
        #expect(sighting.processor == move.to)
        #expect(after == before)
    }

    @Test func aPinnedWaiterThatKeepsFindingTheOtherSideOnItsProcessorStaysPinned() {
        let outcome = Self.onThread { () -> (Int, [Int]) in
            _ = SystemCalls.pinCurrentThread(toProcessor: 0)
            return Self.withRecords { own, peer in
                let sharing = ProcessorSharing(own: own, peer: peer)
                var moves = 0
                for _ in 0..<(4 * Int(ProcessorSharing.streakToMove)) {
                    Self.recordSightingHere(at: peer)
                    if sharing.yieldProcessor() != nil { moves += 1 }
                }
                return (moves, SystemCalls.allowedProcessors())
            }
        }
        #expect(outcome?.0 == 0)
        #expect(outcome?.1 == [0])
    }

    @Test func aSideRewritesItsRecordOnlyWhenItsProcessorChangedOrItIsDue() {
        let stored = Self.onThread { () -> [ProcessorSharing.Sighting] in
            _ = SystemCalls.pinCurrentThread(toProcessor: 0)
            return Self.withRecords { own, _ in
                let sharing = ProcessorSharing(own: own, peer: own + ProcessorSharing.recordBytes)
                let refresh = ProcessorSharing.refreshMicroseconds * 1_000
                var seen: [ProcessorSharing.Sighting] = []
                for clock in [Self.now, Self.now + refresh / 2, Self.now + refresh] {
                    sharing.yieldProcessor(clock: clock)
                    let word = own.assumingMemoryBound(to: Atomic<UInt64>.self).pointee.load(ordering: .relaxed)
                    seen.append(ProcessorSharing.Sighting(word: word))
                }
                return seen
            }
        }
        let first = ProcessorSharing.Sighting(processor: 0, microseconds: Self.now / 1_000)
        let refreshed = ProcessorSharing.Sighting(
            processor: 0, microseconds: Self.now / 1_000 + ProcessorSharing.refreshMicroseconds)
        #expect(stored == [first, first, refreshed])
    }

    // MARK: The state machine

    static let now: Int64 = 5_000_000_000

    @Test func aStreakOfSightingsOnTheSameProcessorEndsInAMove() {
        let peer = ProcessorSharing.Sighting(processor: 1, microseconds: Self.now / 1_000)
        var streak: UInt32 = 0
        for _ in 1..<ProcessorSharing.streakToMove {
            let decision = ProcessorSharing.decide(processor: 1, now: Self.now, peer: peer, streak: streak)
            #expect(!decision.move)
            #expect(decision.streak == streak + 1)
            streak = decision.streak
        }
        #expect(ProcessorSharing.decide(processor: 1, now: Self.now, peer: peer, streak: streak)
            == ProcessorSharing.Decision(streak: 0, move: true))
    }

    @Test func aSightingElsewhereOldOrUnseenEndsTheStreak() {
        let streak = ProcessorSharing.streakToMove - 1
        let elsewhere = ProcessorSharing.Sighting(processor: 0, microseconds: Self.now / 1_000)
        let old = ProcessorSharing.Sighting(
            processor: 1, microseconds: (Self.now - ProcessorSharing.recentNanoseconds) / 1_000 - 1)
        let unseen = ProcessorSharing.Sighting(word: 0)
        let ended = ProcessorSharing.Decision(streak: 0, move: false)
        #expect(unseen.processor == -1)
        for peer in [elsewhere, old, unseen] {
            #expect(ProcessorSharing.decide(processor: 1, now: Self.now, peer: peer, streak: streak) == ended)
        }
        // Its own processor unknown, a waiter never counts.
        #expect(ProcessorSharing.decide(processor: -1, now: Self.now, peer: unseen, streak: streak) == ended)
    }

    @Test func aSightingSurvivesItsWord() {
        let sighting = ProcessorSharing.Sighting(processor: 7, microseconds: 123_456_789)
        #expect(ProcessorSharing.Sighting(word: sighting.word) == sighting)
        #expect(sighting.word != 0)
    }
}

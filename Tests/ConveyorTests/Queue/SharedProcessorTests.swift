import Foundation
import Testing
@testable import Conveyor

/// A producer and a consumer that share one processor for certain (both
/// pinned to processor 0): each one's spin is then time taken from the
/// other, and only its yields and sleeps let the other run.
@Suite struct SharedProcessorTests {
    /// Runs `body` on a new thread pinned to processor 0 and waits for it (at most 60 s).
    static func onProcessorZero(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread {
            _ = SystemCalls.pinCurrentThread(toProcessor: 0)
            body()
            done.signal()
        }.start()
        return done
    }

    @Test func aProducerAndConsumerOnOneProcessorHandOverEveryItemInOrder() throws {
        let queue = try BoundedQueue<Int>(capacity: 2)
        let count = 20_000
        let producer = Self.onProcessorZero {
            for k in 0..<count { try! queue.put(k, timeout: .seconds(60)) }
        }
        let received = Locked<[Int]>([])
        let consumer = Self.onProcessorZero {
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
    }
}

import Foundation

/// A real thread whose result can be joined. Tests that block (producers
/// and consumers waiting on a ring) must not run on Swift's cooperative
/// pool, which has only as many threads as cores.
final class TestThread<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `result` is written once by the thread before `done` is
    // signalled, and read only after waiting on `done`.
    private var result: Result<Value, any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result { try body() }
            done.signal()
        }
    }

    /// Waits for the thread (at most `timeout`) and returns its value or rethrows its error.
    func join(timeout: Duration = .seconds(60)) throws -> Value {
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        guard done.wait(timeout: .now() + seconds) == .success else {
            throw HelperFailure(message: "a test thread did not finish within \(timeout)")
        }
        return try result!.get()
    }
}

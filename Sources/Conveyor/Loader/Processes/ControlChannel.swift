/// One end of the socket pair between the consumer and one worker process:
/// the consumer sends `WorkerCommand`s, the worker receives them. When the
/// consumer's process ends, its end closes and the worker reads the end of
/// the channel, so a worker never outlives its consumer for long.
///
/// Owns its descriptor; `close()` releases it (the owner calls it once).
struct ControlChannel: Sendable {
    /// The socket's descriptor.
    let descriptor: Int32

    /// A connected pair: (the consumer's end, the worker's end), both close-on-exec.
    static func pair() throws(ConveyorError) -> (consumer: ControlChannel, worker: ControlChannel) {
        let (first, second) = try SystemCalls.socketPair()
        return (ControlChannel(descriptor: first), ControlChannel(descriptor: second))
    }

    /// Sends `command`. Throws when the worker's end is closed (it died) or
    /// when it has left a whole buffer of commands unread (it is stuck).
    func send(_ command: WorkerCommand) throws(ConveyorError) {
        guard try SystemCalls.sendMessage(descriptor, command.encoded) else {
            throw .unavailable("a worker process left its commands unread; it may be stuck in the dataset code")
        }
    }

    /// What a receive found.
    enum Received: Sendable, Hashable {
        /// A command.
        case command(WorkerCommand)
        /// Nothing yet.
        case nothing
        /// The other end is closed: its process ended or closed the channel.
        case closed
    }

    /// Receives the next command, waiting at most `milliseconds` (0: not at all).
    func receive(waitingMilliseconds milliseconds: Int32 = 0) throws(ConveyorError) -> Received {
        if milliseconds > 0 { _ = try SystemCalls.pollReadable([descriptor], timeoutMilliseconds: milliseconds) }
        guard let bytes = try SystemCalls.receiveMessage(descriptor, capacity: WorkerCommand.byteCount * 2) else {
            return .nothing
        }
        guard !bytes.isEmpty else { return .closed }
        guard let command = WorkerCommand(decoding: bytes) else {
            throw .corruptSegment("a control message of \(bytes.count) bytes is not a worker command")
        }
        return .command(command)
    }

    /// Closes this end.
    func close() {
        SystemCalls.close(descriptor)
    }
}

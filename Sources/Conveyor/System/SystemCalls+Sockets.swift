#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Message sockets (the process backend's control channel) and this
/// process's environment.
extension SystemCalls {
    /// A connected pair of Unix sequenced-packet sockets (message boundaries
    /// kept), both close-on-exec and non-blocking.
    static func socketPair() throws(ConveyorError) -> (Int32, Int32) {
        var descriptors: [Int32] = [-1, -1]
        let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        try retrying("socketpair") { socketpair(AF_UNIX, type, 0, &descriptors) }
        return (descriptors[0], descriptors[1])
    }

    /// Sends `bytes` as one message without blocking and without SIGPIPE.
    /// False when the socket's buffer is full; throws (EPIPE, ECONNRESET)
    /// when the peer has closed its end.
    static func sendMessage(_ descriptor: Int32, _ bytes: [UInt8]) throws(ConveyorError) -> Bool {
        while true {
            let sent = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if sent >= 0 { return true }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return false }
            throw .systemCall(name: "send", errno: code)
        }
    }

    /// Receives one message of at most `capacity` bytes without blocking:
    /// nil when none is waiting, an empty array when the peer has closed its end.
    static func receiveMessage(_ descriptor: Int32, capacity: Int) throws(ConveyorError) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: capacity)
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if received >= 0 { return Array(buffer.prefix(received)) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return nil }
            if code == ECONNRESET { return [] }
            throw .systemCall(name: "recv", errno: code)
        }
    }

    /// The value of the environment variable `name`, if set.
    static func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Removes the environment variable `name` from this process.
    static func removeEnvironmentValue(_ name: String) {
        unsetenv(name)
    }
}

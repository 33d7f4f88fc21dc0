import CZeroMQ
import Glibc

/// A failed libzmq call: the call's name, its errno and `zmq_strerror`'s text.
public struct ZMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The errno libzmq reported (`EAGAIN`, `ETERM`, `EINVAL`, …).
    public var errno: Int32
    /// The C call that failed, e.g. `zmq_bind(tcp://127.0.0.1:5550)`.
    public var call: String

    public init(errno: Int32, call: String) {
        self.errno = errno
        self.call = call
    }

    public var message: String { String(cString: zmq_strerror(errno)) }
    public var description: String { "\(call) failed: \(message) (errno \(errno))" }

    /// The context was shut down or terminated: the socket's owner should close it and stop.
    public var isContextTerminated: Bool { errno == ETERM }
}

/// The outcome of a non-blocking libzmq call.
@usableFromInline
enum CallResult {
    case done(Int32)
    case wouldBlock
}

/// Runs one libzmq call: retries `EINTR`, maps `EAGAIN` to `.wouldBlock`, throws anything else.
///
/// Every C call in this module goes through here (NIO's `syscall` pattern), so error
/// reporting is uniform and a signal never surfaces as a spurious failure.
@inline(__always)
func zmqCall(_ name: @autoclosure () -> String, _ body: () -> Int32) throws(ZMQError) -> CallResult {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = zmq_errno()
        if code == EINTR { continue }
        if code == EAGAIN { return .wouldBlock }
        throw ZMQError(errno: code, call: name())
    }
}

/// As `zmqCall`, for calls where `EAGAIN` is itself an error (bind, setsockopt …).
@inline(__always)
@discardableResult
func zmqCheck(_ name: @autoclosure () -> String, _ body: () -> Int32) throws(ZMQError) -> Int32 {
    switch try zmqCall(name(), body) {
    case .done(let value): return value
    case .wouldBlock: throw ZMQError(errno: EAGAIN, call: name())
    }
}

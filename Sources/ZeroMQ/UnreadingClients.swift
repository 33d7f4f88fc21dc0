import CZeroMQ
import Glibc

/// The connections of a ROUTER whose last reply found their queue full: clients that do not read
/// their replies. For a second after that, their requests are dropped unprocessed (a receive is all
/// they cost); then one is served again, and its reply tells whether the client has read since.
///
/// The socket needs `ZMQ_ROUTER_MANDATORY`: without it libzmq drops a reply to a full queue
/// silently, and the server cannot tell.
public struct UnreadingClients {
    private static let turnAwayNanoseconds: Int64 = 1_000_000_000
    /// Past this many, the oldest are forgotten: connections that went away leave their ids behind.
    private static let maxRemembered = 10_000
    /// Each connection turned away, until when (monotonic ns).
    private var connections: [[UInt8]: Int64] = [:]

    public init() {}

    /// Whether the request that came on `route` is to be dropped without being processed or answered.
    public mutating func turnsAway(_ route: [[UInt8]]) -> Bool {
        guard !connections.isEmpty, let connection = route.first, let until = connections[connection] else { return false }
        if monotonicNanoseconds() < until { return true }
        connections[connection] = nil
        return false
    }

    /// Sends a reply without waiting. To a full queue it is dropped and its connection turned away
    /// for a while; to a connection that has gone it is dropped.
    public mutating func send(_ reply: [[UInt8]], on socket: Socket) throws(ZMQError) {
        var sent: Bool
        do {
            sent = try socket.send(reply, dontWait: true)
            if !sent {
                // libzmq learns how much of the queue the connection has taken by commands its I/O
                // thread sends, which a busy socket processes at most every millisecond or so: a
                // queue that looks full may have been read. Reading ZMQ_EVENTS processes them.
                _ = try socket.pendingEvents
                sent = try socket.send(reply, dontWait: true)
            }
        } catch where error.errno == EHOSTUNREACH {
            return
        }
        guard !sent, let connection = reply.first else { return }
        let now = monotonicNanoseconds()
        if connections.count >= Self.maxRemembered { connections = connections.filter { $0.value > now } }
        connections[connection] = now + Self.turnAwayNanoseconds
    }
}

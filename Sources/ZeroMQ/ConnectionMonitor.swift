import CZeroMQ

/// Watches one socket's outgoing connections (`zmq_socket_monitor`): whether a connection was
/// made, and whether an attempt was refused. libzmq retries a refused connection forever and
/// silently; a client that wants to say "nothing is listening" at once asks this.
public final class ConnectionMonitor: @unchecked Sendable {
    /// The PAIR socket the events arrive on; poll it beside the watched socket.
    public let events: Socket
    /// A connection (TCP and, under CURVE, its handshake) was made at least once.
    public private(set) var connected = false
    /// An attempt failed (refused, unreachable) before any connection was made.
    public private(set) var refused = false

    /// Starts watching `socket`: call before `socket.connect`.
    public init(_ socket: Socket, context: Context) throws(ZMQError) {
        // Random: unique among this context's inproc names without shared state.
        let address = "inproc://prism-connection-monitor-\(UInt64.random(in: .min ... .max))"
        let handle = try socket.open("zmq_socket_monitor")
        try zmqCheck("zmq_socket_monitor") {
            zmq_socket_monitor(handle, address, ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        }
        events = try Socket(context, .pair)
        try events.setLinger(0)
        try events.connect(address)
    }

    deinit { events.close(linger: 0) }

    /// Reads the events waiting and updates `connected` and `refused`.
    public func update() throws(ZMQError) {
        while let frames = try events.receive(dontWait: true) {
            // Frame 1: the event as a little-endian u16 and its value as a u32; frame 2: the endpoint.
            guard let first = frames.first, first.count >= 2 else { continue }
            let event = Int32(first[0]) | Int32(first[1]) << 8
            if event == ZMQ_EVENT_CONNECTED || event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED {
                connected = true
            } else if event == ZMQ_EVENT_CONNECT_RETRIED, !connected {
                refused = true
            }
        }
    }
}

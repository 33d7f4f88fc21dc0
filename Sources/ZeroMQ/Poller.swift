import CZeroMQ

/// Waits on several sockets at once (`zmq_poll`). Blocking: call it from a socket loop's own thread.
public struct Poller {
    public struct Readiness: Sendable {
        public var readable: Bool
        public var writable: Bool
    }

    private let sockets: [Socket]
    private var items: [zmq_pollitem_t]

    /// - Parameter sockets: polled for input; all must belong to the calling thread.
    public init(_ sockets: [Socket], writable: Bool = false) {
        self.sockets = sockets
        let events = Int16(ZMQ_POLLIN) | (writable ? Int16(ZMQ_POLLOUT) : 0)
        self.items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: events, revents: 0) }
    }

    /// Waits until a socket is ready or `timeout` milliseconds pass (-1 waits forever).
    ///
    /// - Returns: the readiness of each socket, in the order given; all false on timeout or signal.
    /// - Throws: `ZMQError`, `isContextTerminated` after `Context.shutdown()`.
    public mutating func poll(timeout milliseconds: Int) throws(ZMQError) -> [Readiness] {
        for index in items.indices {
            // A closed socket would otherwise be polled as file descriptor 0 (stdin).
            items[index].socket = try sockets[index].open("zmq_poll")
            items[index].revents = 0
        }
        let count = items.count
        let result = zmq_poll(&items, Int32(count), milliseconds)
        if result < 0 {
            let code = zmq_errno()
            // A signal is not an error: the caller re-checks its deadline and polls again.
            if code != EINTR { throw ZMQError(errno: code, call: "zmq_poll") }
        }
        return items.map {
            Readiness(readable: $0.revents & Int16(ZMQ_POLLIN) != 0, writable: $0.revents & Int16(ZMQ_POLLOUT) != 0)
        }
    }
}

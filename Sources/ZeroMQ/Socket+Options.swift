import CZeroMQ

extension Socket {
    func setInt32(_ option: Int32, _ value: Int32, _ name: String) throws(ZMQError) {
        let handle = try open("zmq_setsockopt(\(name))")
        var value = value
        try zmqCheck("zmq_setsockopt(\(name))") {
            zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size)
        }
    }

    func setInt64(_ option: Int32, _ value: Int64, _ name: String) throws(ZMQError) {
        let handle = try open("zmq_setsockopt(\(name))")
        var value = value
        try zmqCheck("zmq_setsockopt(\(name))") {
            zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size)
        }
    }

    func setBytes(_ option: Int32, bytes: [UInt8], _ name: String) throws(ZMQError) {
        let handle = try open("zmq_setsockopt(\(name))")
        try zmqCheck("zmq_setsockopt(\(name))") {
            bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        }
    }

    func getInt32(_ option: Int32, _ name: String) throws(ZMQError) -> Int32 {
        let handle = try open("zmq_getsockopt(\(name))")
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try zmqCheck("zmq_getsockopt(\(name))") { zmq_getsockopt(handle, option, &value, &size) }
        return value
    }

    /// Messages queued for sending before the socket drops (PUB) or blocks (others). 0 is unlimited.
    public func setSendHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setInt32(ZMQ_SNDHWM, messages, "ZMQ_SNDHWM")
    }

    /// Messages queued on receipt before the socket stops reading from the network. 0 is unlimited.
    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZMQError) {
        try setInt32(ZMQ_RCVHWM, messages, "ZMQ_RCVHWM")
    }

    /// How long `close` keeps unsent messages, in milliseconds (-1 forever, 0 drop at once).
    public func setLinger(_ milliseconds: Int32) throws(ZMQError) {
        try setInt32(ZMQ_LINGER, milliseconds, "ZMQ_LINGER")
    }

    /// Largest inbound message in bytes; a peer that sends more is disconnected. -1 is unlimited.
    public func setMaxMessageSize(_ bytes: Int64) throws(ZMQError) {
        try setInt64(ZMQ_MAXMSGSIZE, bytes, "ZMQ_MAXMSGSIZE")
    }

    /// ZMTP heartbeats: ping every `interval` ms, drop the connection when nothing arrives for `timeout` ms.
    public func setHeartbeat(interval: Int32, timeout: Int32, ttl: Int32? = nil) throws(ZMQError) {
        try setInt32(ZMQ_HEARTBEAT_IVL, interval, "ZMQ_HEARTBEAT_IVL")
        try setInt32(ZMQ_HEARTBEAT_TIMEOUT, timeout, "ZMQ_HEARTBEAT_TIMEOUT")
        if let ttl { try setInt32(ZMQ_HEARTBEAT_TTL, ttl, "ZMQ_HEARTBEAT_TTL") }
    }

    /// Queue messages only to completed connections, so sends fail fast while a peer is away.
    public func setImmediate(_ on: Bool) throws(ZMQError) {
        try setInt32(ZMQ_IMMEDIATE, on ? 1 : 0, "ZMQ_IMMEDIATE")
    }

    /// REQ: allow a new request before the reply to the previous one (with `setRequestCorrelate`).
    public func setRequestRelaxed(_ on: Bool) throws(ZMQError) {
        try setInt32(ZMQ_REQ_RELAXED, on ? 1 : 0, "ZMQ_REQ_RELAXED")
    }

    /// REQ: match replies to requests, dropping late replies to abandoned requests.
    public func setRequestCorrelate(_ on: Bool) throws(ZMQError) {
        try setInt32(ZMQ_REQ_CORRELATE, on ? 1 : 0, "ZMQ_REQ_CORRELATE")
    }

    /// ROUTER: fail with `EHOSTUNREACH` rather than silently drop a message to an unknown peer.
    public func setRouterMandatory(_ on: Bool) throws(ZMQError) {
        try setInt32(ZMQ_ROUTER_MANDATORY, on ? 1 : 0, "ZMQ_ROUTER_MANDATORY")
    }

    /// Blocking receives give up after this many milliseconds (-1 waits forever).
    public func setReceiveTimeout(_ milliseconds: Int32) throws(ZMQError) {
        try setInt32(ZMQ_RCVTIMEO, milliseconds, "ZMQ_RCVTIMEO")
    }

    /// Blocking sends give up after this many milliseconds (-1 waits forever).
    public func setSendTimeout(_ milliseconds: Int32) throws(ZMQError) {
        try setInt32(ZMQ_SNDTIMEO, milliseconds, "ZMQ_SNDTIMEO")
    }

    /// Reconnect back-off: first retry after `interval` ms, doubling up to `max` ms (0: no growth).
    public func setReconnectInterval(_ interval: Int32, max: Int32 = 0) throws(ZMQError) {
        try setInt32(ZMQ_RECONNECT_IVL, interval, "ZMQ_RECONNECT_IVL")
        try setInt32(ZMQ_RECONNECT_IVL_MAX, max, "ZMQ_RECONNECT_IVL_MAX")
    }

    /// The identity this socket presents to a ROUTER peer.
    public func setRoutingID(_ id: [UInt8]) throws(ZMQError) {
        try setBytes(ZMQ_ROUTING_ID, bytes: id, "ZMQ_ROUTING_ID")
    }

    /// SUB: receive messages whose first frame starts with `prefix` (empty: everything).
    public func subscribe(_ prefix: [UInt8]) throws(ZMQError) {
        try setBytes(ZMQ_SUBSCRIBE, bytes: prefix, "ZMQ_SUBSCRIBE")
    }

    public func subscribe(_ prefix: String) throws(ZMQError) {
        try subscribe(Array(prefix.utf8))
    }

    public func unsubscribe(_ prefix: String) throws(ZMQError) {
        try setBytes(ZMQ_UNSUBSCRIBE, bytes: Array(prefix.utf8), "ZMQ_UNSUBSCRIBE")
    }

    /// Whether a message can be received now / sent now without blocking.
    public var pendingEvents: (readable: Bool, writable: Bool) {
        get throws(ZMQError) {
            let events = try getInt32(ZMQ_EVENTS, "ZMQ_EVENTS")
            return (events & Int32(ZMQ_POLLIN) != 0, events & Int32(ZMQ_POLLOUT) != 0)
        }
    }
}

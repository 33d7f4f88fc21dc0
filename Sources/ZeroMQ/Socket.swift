import CZeroMQ

/// One libzmq socket. Not thread-safe: exactly one thread may use it at a time
/// (hand it over only with a happens-before edge, e.g. by creating it on its owner thread).
public final class Socket: @unchecked Sendable {
    public let type: SocketType
    var handle: UnsafeMutableRawPointer?
    // Kept alive by every socket: `Context.deinit` runs `zmq_ctx_term`, which blocks until
    // all of its sockets are closed, so a context released before its sockets would hang.
    private let context: Context

    /// - Throws: `ZMQError` when the context is terminated or out of sockets.
    public init(_ context: Context, _ type: SocketType) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError(errno: zmq_errno(), call: "zmq_socket(\(type))")
        }
        self.type = type
        self.handle = handle
        self.context = context
    }

    deinit { close() }

    func open(_ call: String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(errno: ENOTSOCK, call: call) }
        return handle
    }

    /// Closes the socket; pending outgoing messages get at most the linger time set before.
    public func close() {
        if let handle {
            _ = zmq_close(handle)
            self.handle = nil
        }
    }

    /// Closes the socket after setting its linger, so shutdown never waits on a gone peer.
    public func close(linger milliseconds: Int32) {
        try? setInt32(ZMQ_LINGER, milliseconds, "ZMQ_LINGER")
        close()
    }

    // MARK: - Endpoints

    public func bind(_ endpoint: String) throws(ZMQError) {
        let handle = try open("zmq_bind(\(endpoint))")
        try zmqCheck("zmq_bind(\(endpoint))") { zmq_bind(handle, endpoint) }
    }

    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = try open("zmq_connect(\(endpoint))")
        try zmqCheck("zmq_connect(\(endpoint))") { zmq_connect(handle, endpoint) }
    }

    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let handle = try open("zmq_disconnect(\(endpoint))")
        try zmqCheck("zmq_disconnect(\(endpoint))") { zmq_disconnect(handle, endpoint) }
    }

    public func unbind(_ endpoint: String) throws(ZMQError) {
        let handle = try open("zmq_unbind(\(endpoint))")
        try zmqCheck("zmq_unbind(\(endpoint))") { zmq_unbind(handle, endpoint) }
    }

    /// The endpoint last bound, with the port the system chose for `tcp://…:*`.
    public var lastEndpoint: String {
        get throws(ZMQError) {
            var buffer = [CChar](repeating: 0, count: 512)
            var size = buffer.count
            let handle = try open("zmq_getsockopt(ZMQ_LAST_ENDPOINT)")
            try zmqCheck("zmq_getsockopt(ZMQ_LAST_ENDPOINT)") {
                zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
            }
            return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    // MARK: - Sending

    /// Sends one frame.
    ///
    /// - Parameters:
    ///   - more: another frame of the same message follows.
    ///   - dontWait: return false instead of blocking when the message cannot be queued.
    /// - Returns: false when `dontWait` and the socket would block (high-water mark, no peer).
    @discardableResult
    public func send(_ frame: [UInt8], more: Bool = false, dontWait: Bool = false) throws(ZMQError) -> Bool {
        let handle = try open("zmq_send")
        let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
        let result = try zmqCall("zmq_send") {
            frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
        }
        if case .wouldBlock = result { return false }
        return true
    }

    /// Sends a multipart message atomically: all frames or none reach the peer.
    ///
    /// - Returns: false when `dontWait` and the first frame would block (nothing was sent).
    @discardableResult
    public func send(_ frames: [[UInt8]], dontWait: Bool = false) throws(ZMQError) -> Bool {
        precondition(!frames.isEmpty, "a message has at least one frame")
        let last = frames.count - 1
        for (index, frame) in frames.enumerated() {
            // Only the first frame may block; once it is queued libzmq accepts the rest.
            let sent = try send(frame, more: index < last, dontWait: dontWait && index == 0)
            if !sent { return false }
        }
        return true
    }

    @discardableResult
    public func send(_ text: String, more: Bool = false, dontWait: Bool = false) throws(ZMQError) -> Bool {
        try send(Array(text.utf8), more: more, dontWait: dontWait)
    }

    // MARK: - Receiving

    /// Receives one whole multipart message, however large its frames.
    ///
    /// - Parameter dontWait: return nil instead of blocking when no message is waiting.
    /// - Returns: the frames, or nil when `dontWait` and nothing is waiting (or a receive timeout passed).
    /// - Throws: `ZMQError`; `isContextTerminated` after `Context.shutdown()`.
    public func receive(dontWait: Bool = false) throws(ZMQError) -> [[UInt8]]? {
        try receiveMessage(dontWait: dontWait, properties: false)?.frames
    }

    /// A message with the properties libzmq attached to it for its connection.
    public struct ReceivedMessage: Sendable {
        public var frames: [[UInt8]]
        /// The peer's IP address (`127.0.0.1`, `::1` …; nil over inproc or ipc, which cannot leave
        /// the machine), for requests only some peers may make.
        public var peerAddress: String?
        /// The User-Id the ZAP handler gave the connection at its handshake (nil without one).
        public var userId: String?
    }

    /// Receives one whole multipart message with its connection's `Peer-Address` and `User-Id`.
    ///
    /// - Returns: nil when `dontWait` and nothing is waiting.
    public func receiveMessage(dontWait: Bool = false) throws(ZMQError) -> ReceivedMessage? {
        try receiveMessage(dontWait: dontWait, properties: true)
    }

    private func receiveMessage(dontWait: Bool, properties wantsProperties: Bool) throws(ZMQError) -> ReceivedMessage? {
        let handle = try open("zmq_msg_recv")
        var received = ReceivedMessage(frames: [])
        var propertiesRead = !wantsProperties
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        while true {
            // Frames of one message arrive together, so only the first receive may wait.
            let flags = received.frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0
            let result = try zmqCall("zmq_msg_recv") { zmq_msg_recv(&message, handle, flags) }
            if case .wouldBlock = result {
                if received.frames.isEmpty { return nil }
                continue
            }
            // A ROUTER's routing-id frame is made by the socket and carries no properties: take
            // them from the first frame that came over the wire.
            if !propertiesRead, type != .router || !received.frames.isEmpty {
                propertiesRead = true
                received.peerAddress = zmq_msg_gets(&message, "Peer-Address").map { String(cString: $0) }
                received.userId = zmq_msg_gets(&message, "User-Id").map { String(cString: $0) }
            }
            let size = zmq_msg_size(&message)
            if size == 0 {
                received.frames.append([])
            } else {
                let data = zmq_msg_data(&message)!.assumingMemoryBound(to: UInt8.self)
                received.frames.append(Array(UnsafeBufferPointer(start: data, count: size)))
            }
            if zmq_msg_more(&message) == 0 { return received }
        }
    }
}

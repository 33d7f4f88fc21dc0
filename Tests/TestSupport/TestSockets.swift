import ZeroMQ

/// A socket set up so a failing test fails instead of hanging: it drops unsent messages
/// on close and gives up on a blocking receive after `receiveTimeout` milliseconds.
///
/// - Parameters:
///   - context: the test's own context.
///   - type: the socket pattern.
///   - receiveTimeout: milliseconds before `receive()` returns nil (5 s by default).
/// - Throws: `ZMQError` if the socket cannot be made.
public func makeTestSocket(
    _ context: Context,
    _ type: SocketType,
    receiveTimeout: Int32 = 5_000
) throws(ZMQError) -> Socket {
    let socket = try Socket(context, type)
    try socket.setLinger(0)
    try socket.setReceiveTimeout(receiveTimeout)
    return socket
}

extension Socket {
    /// Binds to a loopback TCP port the system picks and returns the concrete endpoint.
    ///
    /// - Throws: `ZMQError` from `zmq_bind` or `ZMQ_LAST_ENDPOINT`.
    public func bindEphemeralTCP() throws(ZMQError) -> String {
        try bind(ephemeralTCPEndpoint)
        return try lastEndpoint
    }
}

extension Array where Element == UInt8 {
    /// The UTF-8 bytes of `text`, for writing frames in tests.
    public init(utf8 text: String) {
        self.init(text.utf8)
    }
}

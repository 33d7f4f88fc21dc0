/// A request/reply client that never hangs: a DEALER socket speaking REQ's envelope, with a
/// timeout per request and a fresh socket after a timeout (the "lazy pirate" pattern), so a
/// late reply to an abandoned request can never be mistaken for the next one's.
public final class RequestClient: @unchecked Sendable {
    public let endpoint: String
    private let context: Context
    private let curve: CurveClientKeys?
    private var socket: Socket?

    /// - Parameter curve: the keys to reach a CURVE server with; nil for plain text.
    public init(_ context: Context, endpoint: String, curve: CurveClientKeys? = nil) {
        self.context = context
        self.endpoint = endpoint
        self.curve = curve
    }

    deinit { socket?.close(linger: 0) }

    /// Errors beyond libzmq's own.
    public struct Timeout: Error, Sendable, CustomStringConvertible {
        public var endpoint: String
        public var milliseconds: Int
        public var description: String { "no reply from \(endpoint) within \(milliseconds) ms" }
    }

    private func connected() throws(ZMQError) -> Socket {
        if let socket { return socket }
        let fresh = try Socket(context, .dealer)
        try fresh.setLinger(0)
        try fresh.makeCurveClient(ifGiven: curve)
        try fresh.connect(endpoint)
        socket = fresh
        return fresh
    }

    /// Sends one request and waits for its reply.
    ///
    /// - Parameters:
    ///   - frames: the request body frames (the empty delimiter is added).
    ///   - timeout: milliseconds to wait for the reply.
    /// - Returns: the reply frames after the delimiter.
    /// - Throws: `Timeout` (the socket is replaced), or `ZMQError`.
    public func request(_ frames: [[UInt8]], timeout: Int) throws -> [[UInt8]] {
        let socket = try connected()
        try socket.send([[]] + frames)
        var poller = Poller([socket])
        if try poller.poll(timeout: timeout)[0].readable, var reply = try socket.receive(dontWait: true) {
            if reply.first?.isEmpty == true { reply.removeFirst() }
            return reply
        }
        socket.close(linger: 0)
        self.socket = nil
        throw Timeout(endpoint: endpoint, milliseconds: timeout)
    }

    /// As `request(_:timeout:)` with one body frame.
    public func request(_ body: [UInt8], timeout: Int) throws -> [[UInt8]] {
        try request([body], timeout: timeout)
    }
}

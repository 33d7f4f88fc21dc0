/// A request/reply client that never hangs: a DEALER socket speaking REQ's envelope, with a
/// timeout per request and a fresh socket after a timeout (the "lazy pirate" pattern), so a
/// late reply to an abandoned request can never be mistaken for the next one's.
public final class RequestClient: @unchecked Sendable {
    public let endpoint: String
    private let context: Context
    private let curve: CurveClientKeys?
    private let failFast: Bool
    private var socket: Socket?
    private var monitor: ConnectionMonitor?

    /// - Parameters:
    ///   - curve: the keys to reach a CURVE server with; nil for plain text.
    ///   - failFast: throw `Unreachable` as soon as a connection attempt is refused before any
    ///     succeeded (nothing listens there), instead of waiting out the timeout; for a person at
    ///     a terminal. Without it a client rides out a server's restart.
    public init(_ context: Context, endpoint: String, curve: CurveClientKeys? = nil, failFast: Bool = false) {
        self.context = context
        self.endpoint = endpoint
        self.curve = curve
        self.failFast = failFast
    }

    deinit {
        monitor = nil
        socket?.close(linger: 0)
    }

    /// Nothing accepted the connection (`failFast`): the server is not running there.
    public struct Unreachable: Error, Sendable, CustomStringConvertible {
        public var endpoint: String
        public var description: String { "nothing is listening at \(endpoint) (connection refused)" }
    }

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
        if failFast { monitor = try ConnectionMonitor(fresh, context: context) }
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
        var poller = Poller([socket] + (monitor.map { [$0.events] } ?? []))
        let deadline = monotonicNanoseconds() + Int64(timeout) * 1_000_000
        while true {
            let ready = try poller.poll(timeout: Int(max(0, (deadline - monotonicNanoseconds()) / 1_000_000)))
            if ready[0].readable, var reply = try socket.receive(dontWait: true) {
                if reply.first?.isEmpty == true { reply.removeFirst() }
                return reply
            }
            if let monitor, ready.count > 1, ready[1].readable {
                try monitor.update()
                if monitor.refused {
                    abandon(socket)
                    throw Unreachable(endpoint: endpoint)
                }
                continue
            }
            if monotonicNanoseconds() >= deadline { break }
        }
        abandon(socket)
        throw Timeout(endpoint: endpoint, milliseconds: timeout)
    }

    /// Drops the socket: the next request starts on a fresh one.
    private func abandon(_ socket: Socket) {
        monitor = nil
        socket.close(linger: 0)
        self.socket = nil
    }

    /// As `request(_:timeout:)` with one body frame.
    public func request(_ body: [UInt8], timeout: Int) throws -> [[UInt8]] {
        try request([body], timeout: timeout)
    }
}

import WireProtocol
import ZeroMQ

/// A raw DEALER connection for tests that pipeline requests or send odd frames.
public final class DealerConnection: @unchecked Sendable {
    public let context: Context
    public let socket: Socket

    /// - Parameter curve: the keys to reach a CURVE server with; nil for plain text.
    public init(endpoint: String, curve: CurveClientKeys? = nil) throws {
        context = try Context()
        socket = try Socket(context, .dealer)
        try socket.setLinger(0)
        try socket.setReceiveTimeout(5000)
        try socket.makeCurveClient(ifGiven: curve)
        try socket.connect(endpoint)
    }

    deinit { socket.close(linger: 0) }

    /// Sends `["", body]`, as a REQ socket would.
    public func send(_ request: JSONValue) throws {
        try socket.send([[], request.jsonBytes])
    }

    /// Receives one reply (5 s timeout) and parses its last frame.
    public func receive() throws -> JSONValue {
        guard let frames = try socket.receive() else { throw TestFailure("no reply within 5 s") }
        return try JSONParser.parse(frames.last ?? [])
    }

    /// Receives raw frames, or nil after `timeout` ms.
    public func receiveFrames(timeout: Int32) throws -> [[UInt8]]? {
        try socket.setReceiveTimeout(timeout)
        return try socket.receive()
    }
}

import Security
import ZeroMQ

/// The ROUTER a server answers queries on (a projector, the outbox relay): CURVE on with `--keys`,
/// a message size limit, a queue per connection, and `ZMQ_ROUTER_MANDATORY` so that a reply to a
/// client that does not read is noticed (`UnreadingClients`).
public enum QuerySocket {
    /// Makes and binds the socket.
    ///
    /// - Throws: `QuerySocket.BindFailure` when the endpoint cannot be bound, else `ZMQError`.
    public static func bind(
        _ endpoint: String, context: Context, security: ServerSecurity?, maxRequestBytes: Int, queuePerConnection: Int32
    ) throws -> Socket {
        let socket = try Socket(context, .router)
        try security?.secure(socket, .query)
        try socket.setMaxMessageSize(Int64(max(maxRequestBytes * 16, 1 << 20)))
        try socket.setSendHighWaterMark(queuePerConnection)
        try socket.setReceiveHighWaterMark(queuePerConnection)
        try socket.setRouterMandatory(true)
        do {
            try socket.bind(endpoint)
        } catch {
            throw BindFailure(message: "cannot bind the query endpoint \(endpoint): \(error.message)")
        }
        return socket
    }

    public struct BindFailure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}

import Logging
import ZeroMQ

/// CURVE for one server process: its long-term key pair, who it admits, and the keys it uses as a
/// client of other servers (a projector of the write node).
public struct ServerSecurity: Sendable {
    public var keys: KeyDirectory
    /// This process's name in `keys`: its `<identity>.key` serves and connects.
    public var identity: String
    public var keyPair: CurveKeyPair
    public var gatekeeper: Gatekeeper

    /// Reads `<identity>.key` and `authorized/` from the key directory.
    ///
    /// - Throws: `SecurityError`: a server never starts open when it was asked to be secure.
    public init(keys: KeyDirectory, identity: String, logger: Logger) throws(SecurityError) {
        self.keys = keys
        self.identity = identity
        keyPair = try keys.keyPair(identity)
        gatekeeper = try Gatekeeper(authorizedDirectory: keys.authorizedPath, logger: logger)
    }

    /// Starts the context's ZAP handler: before any of its server sockets binds.
    public func startHandler(on context: Context, logger: Logger) throws(SecurityError) {
        try ZAPHandler.start(context: context, gatekeeper: gatekeeper, logger: logger)
    }

    /// Makes `socket` a CURVE server with this process's key, admitting per `domain`.
    public func secure(_ socket: Socket, _ domain: ZAPDomain) throws(ZMQError) {
        try socket.makeCurveServer(secretKey: keyPair.secretKey, zapDomain: domain.rawValue)
    }

    /// What this process needs to reach `server` (`write-node`) as a client.
    public func clientKeys(to server: String) throws(SecurityError) -> CurveClientKeys {
        CurveClientKeys(client: keyPair, serverKey: try keys.serverKey(server))
    }
}

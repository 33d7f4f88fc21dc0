import Foundation
import Logging
import ZeroMQ

/// The ZeroMQ Authentication Protocol handler (RFC 27) of one context: libzmq asks it, over
/// `inproc://zeromq.zap.01`, whether each CURVE client key may connect to a server socket of this
/// context; it answers from the `Gatekeeper` and names the connection (User-Id) by its key.
///
/// Runs on a thread of its own; bound before any server socket, since libzmq lets CURVE clients
/// in unauthenticated when no handler is bound. Stops at `Context.shutdown()`.
public enum ZAPHandler {
    static let endpoint = "inproc://zeromq.zap.01"

    /// Binds the handler and starts its thread.
    ///
    /// - Throws: `SecurityError` when the context already has a handler (or is shut down).
    public static func start(context: Context, gatekeeper: Gatekeeper, logger: Logger) throws(SecurityError) {
        let socket: Socket
        do {
            socket = try Socket(context, .rep)
            try socket.bind(Self.endpoint)
        } catch {
            throw SecurityError("cannot start the ZAP handler: \(error)")
        }
        // The socket moves to the handler's thread here and is used by it alone.
        let owned = socket
        Thread {
            serve(owned, gatekeeper, logger)
        }.start()
    }

    private static func serve(_ socket: Socket, _ gatekeeper: Gatekeeper, _ logger: Logger) {
        defer { socket.close(linger: 0) }
        while true {
            do {
                guard let request = try socket.receive() else { continue }
                try socket.send(reply(to: request, gatekeeper))
            } catch {
                if error.isContextTerminated { return }
                logger.error("ZAP handler error", metadata: ["error": "\(error)"])
            }
        }
    }

    /// RFC 27: version, request id, domain, address, identity, mechanism, credentials… →
    /// version, request id, status code, status text, user id, metadata.
    static func reply(to frames: [[UInt8]], _ gatekeeper: Gatekeeper) -> [[UInt8]] {
        func answer(_ status: String, _ text: String, userId: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), frames.count > 1 ? frames[1] : [], Array(status.utf8), Array(text.utf8), Array(userId.utf8), []]
        }
        guard frames.count >= 6, frames[0] == Array("1.0".utf8) else { return answer("500", "malformed ZAP request") }
        let domain = String(decoding: frames[2], as: UTF8.self)
        let address = String(decoding: frames[3], as: UTF8.self)
        guard frames[5] == Array("CURVE".utf8), frames.count == 7, frames[6].count == 32 else {
            return answer("400", "only CURVE clients are admitted")
        }
        switch gatekeeper.admit(rawKey: frames[6], domain: domain, address: address) {
        case .success(let userId): return answer("200", "OK", userId: userId)
        case .failure(let error): return answer("400", error.message)
        }
    }
}

import Security
import SecurityOptions
import WireProtocol
import ZeroMQ

/// One server the CLI talks to: where it listens and, with `--keys`, the CURVE keys to reach it.
struct Server: Sendable {
    /// The name of its key in the key directory: `write-node`, `orders-projector`.
    let name: String
    let endpoint: String
    /// The flag that sets `endpoint`, for the hint when nothing answers there.
    let endpointFlag: String
    /// The client's key pair and the server's public key; nil in plain text.
    let curve: CurveClientKeys?
    /// What to check when CURVE is on and the server does not answer (it refuses an unknown key
    /// at the handshake, silently); nil in plain text.
    let silenceHint: String?

    /// A request/reply client for this server.
    func client(_ context: Context) -> ServerClient {
        ServerClient(server: self, client: RequestClient(context, endpoint: endpoint, curve: curve, failFast: true))
    }

    /// What to say when nothing is listening at the endpoint.
    var notRunningHint: String {
        "is the \(name) running? `./scripts/start` starts the system; \(endpointFlag) says where to reach it"
    }

    /// Connects `socket` (its options already set) to this server, over CURVE when the keys are given.
    func connect(_ socket: Socket) throws {
        try socket.makeCurveClient(ifGiven: curve)
        try socket.connect(endpoint)
    }
}

extension KeyOptions {
    /// The CLI's key name when neither `--identity` nor `PRISM_IDENTITY` gives one.
    static let cliIdentity = "admin"

    /// The write node, at its command, publish or catch-up endpoint: all three serve with `write-node.key`.
    func writeNode(_ endpoint: String, flag: String = "--command-endpoint", identity: String = cliIdentity) throws -> Server {
        try server(ServerKeyName.writeNode, endpoint: endpoint, flag: flag, identity: identity)
    }

    /// A projector (`orders`) at its query endpoint: it serves with `<name>-projector.key`.
    func projector(_ name: String, endpoint: String, flag: String = "--endpoint", identity: String = cliIdentity) throws -> Server {
        try server(ServerKeyName.projector(name), endpoint: endpoint, flag: flag, identity: identity)
    }

    // The one place that decides CURVE for a client: every subcommand reaches servers through it.
    // `defaultIdentity`: the key to use unless --identity or PRISM_IDENTITY names another.
    private func server(_ name: String, endpoint: String, flag: String, identity defaultIdentity: String) throws -> Server {
        guard let directory else { return Server(name: name, endpoint: endpoint, endpointFlag: flag, curve: nil, silenceHint: nil) }
        let identity = identity(default: defaultIdentity)
        do {
            return Server(
                name: name, endpoint: endpoint, endpointFlag: flag, curve: try directory.clientKeys(identity: identity, server: name),
                silenceHint: "with --keys, check that your key (\(directory.secretCertificatePath(identity))) is authorized on the server"
                    + " and that \(directory.publicCertificatePath(name)) is the server's key")
        } catch {
            throw CLIError("\(error.message) (CURVE is on: --keys or PRISM_KEYS is \(directory.path))")
        }
    }
}

/// Request/reply with one server; a silence says what to check when CURVE is on.
struct ServerClient {
    let server: Server
    let client: RequestClient

    /// Sends one request's frames and returns the reply's.
    func request(_ frames: [[UInt8]], timeout: Int) throws -> [[UInt8]] {
        do {
            return try client.request(frames, timeout: timeout)
        } catch let refused as RequestClient.Unreachable {
            throw CLIError("\(refused): \(server.notRunningHint)")
        } catch let silence as RequestClient.Timeout {
            throw CLIError("\(silence)" + (server.silenceHint.map { "; \($0)" } ?? "; \(server.notRunningHint)"))
        }
    }

    /// Sends one JSON request and returns the reply document; an `ok: false` reply becomes a `CLIError`.
    func requestJSON(_ request: JSONValue, timeout: Int) throws -> JSONValue {
        let frames = try self.request([request.jsonBytes], timeout: timeout)
        guard frames.count == 1 else { throw CLIError("reply has \(frames.count) frames, expected 1") }
        let reply = try JSONParser.parse(frames[0])
        if reply["ok"] == .bool(false) {
            let error = WireError(reply: reply)
            throw CLIError("\(error.code.rawValue): \(error.message)")
        }
        return reply
    }
}

import EventModel
import Foundation
import Logging
import WireProtocol
import ZeroMQ

/// Which server socket a handshake is for (the socket's ZAP domain).
public enum ZAPDomain: String, Sendable {
    case command, catchUp = "catch-up", publish, query

    /// The role a key needs to connect at all. A PUB socket cannot check messages (subscribers
    /// send none), so it is checked here; the others admit any authorized key and check each
    /// request, so a refusal there is a clear `Forbidden` reply rather than a silent handshake.
    var roleAtHandshake: Role? { self == .publish ? .projector : nil }
}

/// Who may do what on one server process: the authorized keys (reloaded on SIGHUP), the ZAP
/// decisions at handshakes, the per-request role checks, and the refusals counted and logged.
///
/// Thread-safe: the ZAP handler's thread and every serving thread consult it. A connection's
/// User-Id is its client's public key, so each request is checked against the current set: a key
/// removed by a reload loses its rights at its connection's next message.
public final class Gatekeeper: @unchecked Sendable {
    public let directory: String
    private let logger: Logger
    private let lock = NSLock()
    private var keys: AuthorizedKeys
    private var revocations = 0
    /// Refusals by the role that was needed ("any" for a request any role may make).
    private var handshakeRefusals: [String: Int] = [:]
    private var requestRefusals: [String: Int] = [:]
    private var handshakeRefusalLog = RefusalLog()
    private var requestRefusalLog = RefusalLog()

    /// - Throws: `SecurityError` when the directory cannot be read: a server does not start open.
    public init(authorizedDirectory: String, logger: Logger) throws(SecurityError) {
        directory = authorizedDirectory
        self.logger = logger
        keys = try AuthorizedKeys.load(directory: authorizedDirectory)
        logger.info("authorized keys loaded", metadata: ["keys.directory": "\(directory)", "keys.count": "\(keys.principals.count)"])
    }

    /// Reads the directory again; on an error the current set stays (a typo must not lock everyone out).
    @discardableResult
    public func reload() -> Result<Int, SecurityError> {
        do {
            let fresh = try AuthorizedKeys.load(directory: directory)
            let revoked: Bool = lock.withLock {
                let revoked = keys.isRevoked(by: fresh)
                if revoked { revocations += 1 }
                keys = fresh
                return revoked
            }
            logger.notice("authorized keys reloaded", metadata: [
                "keys.directory": "\(directory)", "keys.count": "\(fresh.principals.count)", "keys.revoked": "\(revoked)",
            ])
            return .success(fresh.principals.count)
        } catch {
            logger.error("authorized keys not reloaded; the previous set stays", metadata: ["error": "\(error)"])
            return .failure(error)
        }
    }

    /// Counts reloads that took a right away; a socket that cannot check messages (PUB) drops its
    /// connections when this changes, so every subscriber is admitted again under the new set.
    public var revocationCount: Int { lock.withLock { revocations } }

    // MARK: - Handshakes (the ZAP handler)

    /// The ZAP decision for a CURVE client key: its User-Id (the key's Z85 text), or why not.
    func admit(rawKey: [UInt8], domain: String, address: String) -> Result<String, SecurityError> {
        guard let key = CurveKey.z85(rawKey) else { return .failure(SecurityError("not a CURVE key")) }
        let principal = lock.withLock { keys.principal(publicKey: key) }
        let needed = ZAPDomain(rawValue: domain)?.roleAtHandshake
        let refusal: String
        if let principal {
            guard let needed, !principal.may(needed) else { return .success(key) }
            refusal = "principal '\(principal.name)' (\(principal.roleList)) lacks the \(needed.rawValue) role"
        } else {
            refusal = "unknown key"
        }
        let fingerprint = Certificate.fingerprint(ofRawKey: rawKey)
        let shouldLog: RefusalLog.Decision = lock.withLock {
            handshakeRefusals[needed?.rawValue ?? "any", default: 0] += 1
            return handshakeRefusalLog.note(fingerprint, now: monotonicNanoseconds())
        }
        switch shouldLog {
        case .log(let unlogged):
            logger.warning("connection refused", metadata: [
                "key.fingerprint": "\(fingerprint)", "peer.address": "\(address)", "zap.domain": "\(domain)",
                "reason": "\(refusal)", "refusals.notLogged": "\(unlogged)",
            ])
        case .quiet: break
        }
        return .failure(SecurityError(refusal))
    }

    // MARK: - Requests

    /// The principal behind a request's connection, if it may act in `role`.
    ///
    /// - Parameters:
    ///   - userId: the message's `User-Id` (the client's public key, set at the handshake).
    ///   - role: nil for a request any authorized principal with a role may make (`health`).
    ///   - request: what is asked, for the message.
    /// - Throws: `WireError(.forbidden)`, counted in `stats`.
    @discardableResult
    public func authorize(_ userId: String?, _ role: Role?, for request: String) throws(WireError) -> Principal {
        let principal = userId.flatMap { key in lock.withLock { keys.principal(publicKey: key) } }
        if let principal, role.map(principal.may) ?? !principal.roles.isEmpty { return principal }
        let refusal = principal.map {
            "\(request) refused: principal '\($0.name)' has roles [\($0.roleList)]; \(request) needs \(role?.rawValue ?? "a role")"
        } ?? "\(request) refused: this connection's key is no longer authorized (removed from \(directory))"
        // Logged once per principal and request, and few per window: a client retrying a
        // forbidden request cannot flood the log (each refusal is still counted in `stats`).
        let subject = "\(principal?.name ?? userId ?? "?") \(request)"
        let shouldLog: RefusalLog.Decision = lock.withLock {
            requestRefusals[role?.rawValue ?? "any", default: 0] += 1
            return requestRefusalLog.note(subject, now: monotonicNanoseconds())
        }
        if case .log(let unlogged) = shouldLog {
            logger.warning("request refused", metadata: ["reason": "\(refusal)", "refusals.notLogged": "\(unlogged)"])
        }
        throw WireError(.forbidden, refusal)
    }

    /// `{"handshakes": n, "requests": n, "authorizedKeys": n}` for a server's `stats`.
    public var refusals: JSONValue {
        lock.withLock {
            ["handshakes": .int(Int64(handshakeRefusals.values.reduce(0, +))), "requests": .int(Int64(requestRefusals.values.reduce(0, +))),
             "authorizedKeys": .int(Int64(keys.principals.count))]
        }
    }

    /// The refusals by stage and the role that was needed, for the metrics.
    public var refusalsByRole: (handshakes: [String: Int], requests: [String: Int]) {
        lock.withLock { (handshakeRefusals, requestRefusals) }
    }
}

/// Logs each refused key once, and at most `perWindow` new keys per window: a storm of
/// connections with fresh random keys cannot flood the log.
struct RefusalLog {
    enum Decision { case log(unlogged: Int), quiet }

    static let perWindow = 10
    static let windowNanoseconds: Int64 = 10_000_000_000
    static let rememberedKeys = 10_000

    private var logged: Set<String> = []
    private var windowStart: Int64?
    private var loggedInWindow = 0
    private var unlogged = 0

    mutating func note(_ fingerprint: String, now: Int64) -> Decision {
        if logged.contains(fingerprint) { return .quiet }
        if windowStart.map({ now - $0 >= Self.windowNanoseconds }) ?? true {
            windowStart = now
            loggedInWindow = 0
        }
        guard loggedInWindow < Self.perWindow else {
            unlogged += 1
            return .quiet
        }
        loggedInWindow += 1
        if logged.count >= Self.rememberedKeys { logged.removeAll() }
        logged.insert(fingerprint)
        defer { unlogged = 0 }
        return .log(unlogged: unlogged)
    }
}

import Foundation
import ZeroMQ

/// The principals a server admits: every `*.pub` certificate in a directory, by public key.
public struct AuthorizedKeys: Sendable, Equatable {
    /// Principal by Z85 public key.
    public private(set) var principals: [String: Principal]

    public init(principals: [String: Principal] = [:]) { self.principals = principals }

    /// Most certificates one directory may hold: a bound on what a reload reads.
    public static let maxCertificates = 10_000

    /// Reads every `*.pub` file of the directory (other files are ignored, so editors' backups are).
    ///
    /// - Throws: `SecurityError` for a missing directory, an unreadable or malformed certificate,
    ///   or one key in two files: a server refuses to start on it, and a reload keeps the old set.
    public static func load(directory: String) throws(SecurityError) -> AuthorizedKeys {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pub") }.sorted()
        } catch {
            throw SecurityError("cannot read the authorized keys directory \(directory): \(error.localizedDescription)")
        }
        guard names.count <= maxCertificates else {
            throw SecurityError("\(directory) has \(names.count) certificates, more than \(maxCertificates)")
        }
        var keys = AuthorizedKeys()
        var files: [String: String] = [:]
        for name in names {
            let path = "\(directory)/\(name)"
            let certificate = try Certificate.readPublic(path)
            if let other = files[certificate.publicKey] {
                throw SecurityError("\(path) and \(other) hold the same key: one principal per key")
            }
            files[certificate.publicKey] = path
            let principal = String(name.dropLast(".pub".count))
            keys.principals[certificate.publicKey] = Principal(name: principal, roles: certificate.roles)
        }
        return keys
    }

    public func principal(publicKey: String) -> Principal? { principals[publicKey] }

    /// Whether `newer` took a right from a key this set admits (removed it or one of its roles):
    /// connections that were admitted on the old rights must then be checked again.
    public func isRevoked(by newer: AuthorizedKeys) -> Bool {
        principals.contains { key, principal in
            guard let now = newer.principals[key] else { return true }
            return !principal.roles.isSubset(of: now.roles) || now.name != principal.name
        }
    }
}

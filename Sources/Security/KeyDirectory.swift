import Foundation
import ZeroMQ

/// One directory of keys, as `prism keys generate` and `./scripts/start --secure` lay it out:
///
/// - `<name>.key`: a process's or user's secret certificate (mode 0600), read by that process only;
/// - `<name>.pub`: its public certificate, copied to whoever must trust it or reach it;
/// - `authorized/<principal>.pub`: the public certificates a server admits, each with its roles
///   (like SSH's `authorized_keys`, one file per principal); reloaded on SIGHUP.
///
/// On several hosts each host has its own directory: its processes' `.key` files, the `.pub`
/// files of the servers its clients reach, and (on a server's host) `authorized/`.
public struct KeyDirectory: Sendable {
    public var path: String

    public init(_ path: String) { self.path = path }

    public func secretCertificatePath(_ name: String) -> String { "\(path)/\(name).key" }
    public func publicCertificatePath(_ name: String) -> String { "\(path)/\(name).pub" }
    public var authorizedPath: String { "\(path)/authorized" }

    /// The named process's or user's key pair, from its secret certificate.
    public func keyPair(_ name: String) throws(SecurityError) -> CurveKeyPair {
        try Certificate.readSecret(existing(secretCertificatePath(name), of: name)).keyPair!
    }

    /// A server's public key, from its public certificate (`write-node.pub`, `orders-projector.pub`).
    public func serverKey(_ server: String) throws(SecurityError) -> String {
        try Certificate.readPublic(existing(publicCertificatePath(server), of: server)).publicKey
    }

    /// `path`, or an error saying how to make the missing key file.
    private func existing(_ path: String, of name: String) throws(SecurityError) -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SecurityError("no key file \(path) (make it with `prism keys generate \(name) --dir \(self.path)`, or copy it from the host that has it)")
        }
        return path
    }

    /// What `identity` needs to reach `server`.
    public func clientKeys(identity: String, server: String) throws(SecurityError) -> CurveClientKeys {
        CurveClientKeys(client: try keyPair(identity), serverKey: try serverKey(server))
    }

    /// Writes a fresh key pair as `<name>.key` and `<name>.pub`, and, with roles, a copy of the public
    /// certificate in `authorized/` (on this host's servers).
    ///
    /// - Returns: the certificate (its fingerprint to print).
    /// - Throws: `SecurityError`; an existing key is never overwritten.
    @discardableResult
    public func generate(_ name: String, roles: Set<Role>, authorize: Bool) throws(SecurityError) -> Certificate {
        guard !name.isEmpty, name.utf8.count <= 100,
              name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }),
              !name.hasPrefix(".")
        else {
            throw SecurityError("a key name is 1 to 100 letters, digits, '-', '_' or '.', not starting with '.', got '\(name.prefix(100))'")
        }
        let pair: CurveKeyPair
        do { pair = try CurveKeyPair.generate() } catch { throw SecurityError("cannot generate a key pair: \(error)") }
        let certificate = Certificate(name: name, publicKey: pair.publicKey, secretKey: pair.secretKey, roles: roles)
        for directory in [path] + (authorize ? [authorizedPath] : []) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw SecurityError("cannot create \(directory): \(error.localizedDescription)")
            }
        }
        try certificate.write(to: secretCertificatePath(name), includeSecret: true)
        try certificate.write(to: publicCertificatePath(name), includeSecret: false)
        if authorize { try certificate.write(to: "\(authorizedPath)/\(name).pub", includeSecret: false) }
        return certificate
    }
}

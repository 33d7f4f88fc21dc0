import CSodium
import Foundation
import ZeroMQ

/// A CURVE certificate file in the text format of CZMQ's `zcert` (ZPL): a `metadata` section
/// (`name`, and for Prism `roles`) and a `curve` section with `public-key` and, in the secret
/// file only, `secret-key`, each a 40-character Z85 key. Files CZMQ writes are read as they are.
///
/// ```
/// metadata
///     name = "alice"
///     roles = "writer,reader"
/// curve
///     public-key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
/// ```
public struct Certificate: Sendable, Equatable {
    public var name: String
    public var publicKey: String
    /// Only in a secret certificate.
    public var secretKey: String?
    public var roles: Set<Role>

    public init(name: String, publicKey: String, secretKey: String? = nil, roles: Set<Role> = []) {
        self.name = name
        self.publicKey = publicKey
        self.secretKey = secretKey
        self.roles = roles
    }

    /// The key pair of a secret certificate.
    public var keyPair: CurveKeyPair? {
        secretKey.map { CurveKeyPair(publicKey: publicKey, secretKey: $0) }
    }

    /// OpenSSH's form, `SHA256:` and the unpadded base64 of the SHA-256 of the 32 raw key bytes:
    /// short enough to compare by eye, and never the key itself in a log.
    public static func fingerprint(ofPublicKey z85: String) -> String {
        guard let raw = CurveKey.raw(z85) else { return "invalid-key" }
        return fingerprint(ofRawKey: raw)
    }

    public static func fingerprint(ofRawKey raw: [UInt8]) -> String {
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        _ = crypto_hash_sha256(&digest, raw, UInt64(raw.count))
        var text = Data(digest).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return "SHA256:" + text
    }

    public var fingerprint: String { Self.fingerprint(ofPublicKey: publicKey) }

    // MARK: - Text

    /// The file's text; `includeSecret` only for the `.key` file.
    public func text(includeSecret: Bool) -> String {
        var lines = [
            includeSecret ? "#   ZeroMQ CURVE **Secret** Certificate" : "#   ZeroMQ CURVE Public Certificate",
            includeSecret ? "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions."
                : "#   Exchange securely, or use a secure mechanism to verify the contents of this file after exchange.",
            "#   Written by `prism keys generate`; fingerprint \(fingerprint)",
            "",
            "metadata",
            "    name = \"\(name)\"",
        ]
        if !roles.isEmpty { lines.append("    roles = \"\(Principal(name: name, roles: roles).roleList)\"") }
        lines += ["curve", "    public-key = \"\(publicKey)\""]
        if includeSecret, let secretKey { lines.append("    secret-key = \"\(secretKey)\"") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses a certificate's text.
    ///
    /// - Parameter source: the file, for messages.
    /// - Throws: `SecurityError` naming the line or the missing or malformed key.
    public static func parse(_ text: String, source: String) throws(SecurityError) -> Certificate {
        var section = ""
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if line.first != " " && line.first != "\t" {
                section = trimmed
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw SecurityError("\(source):\(index + 1): expected `name = \"value\"`, got \(trimmed.prefix(60))")
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            var value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            values["\(section).\(key)"] = value
        }
        guard let publicKey = values["curve.public-key"] else { throw SecurityError("\(source): no curve public-key") }
        guard CurveKey.raw(publicKey) != nil else {
            throw SecurityError("\(source): the public-key is not a 40-character Z85 key")
        }
        let secretKey = values["curve.secret-key"]
        if let secretKey {
            guard CurveKeyPair.publicKey(ofSecretKey: secretKey) == publicKey else {
                throw SecurityError("\(source): the secret-key is not a Z85 key or does not belong to the public-key")
            }
        }
        let fileName = URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        let roles: Set<Role>
        do { roles = try Role.parseList(values["metadata.roles"] ?? "") } catch { throw SecurityError("\(source): \(error.message)") }
        return Certificate(name: values["metadata.name"] ?? fileName, publicKey: publicKey, secretKey: secretKey, roles: roles)
    }

    // MARK: - Files

    /// Largest certificate file read: a certificate is a few hundred bytes.
    static let maxFileBytes = 64 << 10

    /// Reads a public certificate (a secret one is read as its public half).
    public static func readPublic(_ path: String) throws(SecurityError) -> Certificate {
        var certificate = try parse(readText(path), source: path)
        certificate.secretKey = nil
        return certificate
    }

    /// Reads a secret certificate, refusing a file that group or others may read (as ssh does).
    public static func readSecret(_ path: String) throws(SecurityError) -> Certificate {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw SecurityError("cannot read the secret key \(path): \(String(cString: strerror(errno)))")
        }
        if status.st_mode & 0o077 != 0 {
            throw SecurityError("the secret key \(path) is readable by group or others (mode \(String(status.st_mode & 0o777, radix: 8))); `chmod 600 \(path)`")
        }
        let certificate = try parse(readText(path), source: path)
        guard certificate.secretKey != nil else { throw SecurityError("\(path) has no curve secret-key (is it the .pub file?)") }
        return certificate
    }

    private static func readText(_ path: String) throws(SecurityError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SecurityError("cannot read \(path): \(FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maxFileBytes + 1) ?? Data() } catch { throw SecurityError("cannot read \(path): \(error)") }
        guard data.count <= maxFileBytes else { throw SecurityError("\(path) is over \(maxFileBytes) bytes: not a certificate") }
        guard let text = String(data: data, encoding: .utf8) else { throw SecurityError("\(path) is not UTF-8 text") }
        return text
    }

    /// Writes the certificate to a new file: mode 0600 with the secret key, 0644 without.
    ///
    /// - Throws: `SecurityError` when the file exists (a key is never overwritten) or cannot be written.
    public func write(to path: String, includeSecret: Bool) throws(SecurityError) {
        let bytes = Array(text(includeSecret: includeSecret).utf8)
        // Created with its final mode, never readable by others even for a moment.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, includeSecret ? 0o600 : 0o644)
        guard descriptor >= 0 else {
            let reason = errno == EEXIST ? "it exists (a key is never overwritten; remove it first)" : String(cString: strerror(errno))
            throw SecurityError("cannot write \(path): \(reason)")
        }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            throw SecurityError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}

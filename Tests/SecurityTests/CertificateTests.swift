import Foundation
import Security
import TestSupport
import Testing
import ZeroMQ

/// Key files: what `prism keys generate` writes, what a server reads, and the errors of files it
/// must not use.
@Suite struct CertificateTests {
    @Test func generatedKeysReadBackWithTheirRolesAndModes() throws {
        try withTemporaryDirectory("prism-keys") { directory in
            let keys = KeyDirectory(directory)
            let written = try keys.generate("alice", roles: [.writer, .reader], authorize: true)

            let pair = try keys.keyPair("alice")
            #expect(pair.publicKey == written.publicKey)
            #expect(CurveKeyPair.publicKey(ofSecretKey: pair.secretKey) == pair.publicKey)
            let authorized = try Certificate.readPublic("\(directory)/authorized/alice.pub")
            #expect(authorized.roles == [.writer, .reader] && authorized.secretKey == nil && authorized.name == "alice")
            #expect(try Certificate.readPublic(keys.publicCertificatePath("alice")).secretKey == nil)
            #expect(try mode(keys.secretCertificatePath("alice")) == 0o600)
            #expect(try mode(keys.publicCertificatePath("alice")) == 0o644)
            // OpenSSH's form: SHA256: and 43 characters of unpadded base64.
            #expect(written.fingerprint.hasPrefix("SHA256:") && written.fingerprint.count == 7 + 43)
            #expect(!(try String(contentsOfFile: keys.publicCertificatePath("alice"), encoding: .utf8)).contains(pair.secretKey))
        }
    }

    @Test func aKeyIsNeverOverwritten() throws {
        try withTemporaryDirectory("prism-keys") { directory in
            let keys = KeyDirectory(directory)
            let first = try keys.generate("bob", roles: [], authorize: false)
            let error = #expect(throws: SecurityError.self) { try keys.generate("bob", roles: [], authorize: false) }
            #expect(error?.message.contains("exists") == true)
            #expect(try keys.keyPair("bob").publicKey == first.publicKey)
            #expect(throws: SecurityError.self) { try keys.generate("../escape", roles: [], authorize: false) }
            #expect(throws: SecurityError.self) { try keys.generate("", roles: [], authorize: false) }
        }
    }

    @Test func aSecretKeyOthersCanReadIsRefused() throws {
        try withTemporaryDirectory("prism-keys") { directory in
            let keys = KeyDirectory(directory)
            try keys.generate("carol", roles: [], authorize: false)
            chmod(keys.secretCertificatePath("carol"), 0o640)
            let error = #expect(throws: SecurityError.self) { try keys.keyPair("carol") }
            #expect(error?.message.contains("chmod 600") == true)
            #expect(error?.message.contains("640") == true)
        }
    }

    /// A certificate as CZMQ's `zcert_save` writes it: comments, its own header, no roles.
    @Test func aCZMQCertificateIsRead() throws {
        let pair = try CurveKeyPair.generate()
        let text = """
            #   ****  Generated on 2026-12-03 09:00:00 by CZMQ  ****
            #   ZeroMQ CURVE **Secret** Certificate
            #   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

            metadata
                name = "dave"
            curve
                public-key = "\(pair.publicKey)"
                secret-key = "\(pair.secretKey)"

            """
        let certificate = try Certificate.parse(text, source: "dave.key_secret")
        #expect(certificate.keyPair == pair)
        #expect(certificate.roles.isEmpty && certificate.name == "dave")
    }

    @Test func malformedCertificatesAreNamedPrecisely() throws {
        let pair = try CurveKeyPair.generate()
        let other = try CurveKeyPair.generate()
        let cases: [(String, String)] = [
            ("metadata\n    name = \"x\"\n", "no curve public-key"),
            ("curve\n    public-key = \"short\"\n", "not a 40-character Z85 key"),
            ("curve\n    public-key = \"\(pair.publicKey)\"\n    secret-key = \"\(other.secretKey)\"\n", "does not belong"),
            ("metadata\n    roles = \"writer,root\"\ncurve\n    public-key = \"\(pair.publicKey)\"\n", "unknown role 'root'"),
            ("curve\n    public-key\n", "f.pub:2: expected"),
        ]
        for (text, expected) in cases {
            let error = #expect(throws: SecurityError.self) { try Certificate.parse(text, source: "f.pub") }
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error") should say \(expected)")
        }
    }

    @Test func anOversizedFileIsNotRead() throws {
        try withTemporaryDirectory("prism-keys") { directory in
            let path = "\(directory)/huge.pub"
            FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x20, count: 100_000))
            let error = #expect(throws: SecurityError.self) { try Certificate.readPublic(path) }
            #expect(error?.message.contains("not a certificate") == true)
        }
    }

    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }
}

import Foundation
import Security
import TestSupport
import Testing
import WireProtocol

/// `prism keys` and every connecting `prism` subcommand against a write node started with `--keys`.
@Suite(.serialized) struct SecureCLITests {
    @Test func keysGenerateWritesAPairAndRefusesWhatItCannotDo() throws {
        try withTemporaryDirectory("prism-keys") { directory in
            let keys = "\(directory)/keys"
            let made = try runExecutable("prism", ["keys", "generate", "alice", "--dir", keys, "--roles", "reader,writer", "--authorize"])
            #expect(made.status == 0, "\(made.error)")
            let certificate = try Certificate.readSecret("\(keys)/alice.key")
            #expect(made.output.hasPrefix("alice: \(certificate.fingerprint) (roles writer,reader)\n"), "\(made.output)")
            #expect(try Certificate.readPublic("\(keys)/authorized/alice.pub").roles == [.writer, .reader])

            let shown = try runExecutable("prism", ["keys", "show", "\(keys)/alice.pub"])
            #expect(shown.status == 0)
            #expect(shown.output.contains("roles:       writer,reader"))
            #expect(shown.output.contains("fingerprint: \(certificate.fingerprint)"))
            #expect(!shown.output.contains(certificate.secretKey!))

            let refusals: [([String], String)] = [
                (["alice"], "it exists"),
                (["bob", "--roles", "writer,owner"], "unknown role 'owner'"),
                (["bob", "--authorize"], "--authorize needs --roles"),
                (["../bob"], "a key name is"),
            ]
            for (arguments, message) in refusals {
                let refused = try runExecutable("prism", ["keys", "generate"] + arguments + ["--dir", keys])
                #expect(refused.status == 1, "\(arguments)")
                #expect(refused.error.contains(message), "\(arguments): \(refused.error)")
            }
            #expect(!FileManager.default.fileExists(atPath: "\(keys)/bob.key"))
        }
    }

    @Test func everySubcommandSpeaksCurveWithItsKey() throws {
        try withTemporaryDirectory("prism-secure-cli") { directory in
            let keys = KeyDirectory("\(directory)/keys")
            for (name, roles) in [("admin", "admin"), ("reader", "reader")] {
                let made = try runExecutable("prism", ["keys", "generate", name, "--dir", keys.path, "--roles", roles, "--authorize"])
                #expect(made.status == 0, "\(made.error)")
            }
            for name in ["write-node", "stranger"] {
                #expect(try runExecutable("prism", ["keys", "generate", name, "--dir", keys.path]).status == 0)
            }
            let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: directory), extraArguments: ["--keys", keys.path],
                                        curve: try keys.clientKeys(identity: "admin", server: "write-node"))
            try node.start()
            defer { _ = node.stop() }
            let endpoints = ["--command-endpoint", node.commandEndpoint, "--publish-endpoint", node.publishEndpoint,
                             "--catch-up-endpoint", node.catchUpEndpoint, "--timeout-ms", "2000"]
            let secure = endpoints + ["--keys", keys.path]

            let sent = try runExecutable("prism", ["send", "RegisterUser", "userId=ada", "name=Ada", "state=Oregon"] + secure)
            #expect(sent.status == 0, "\(sent.error)")
            let read = try runExecutable("prism", ["read", "user-ada", "--json"] + secure)
            #expect(read.status == 0, "\(read.error)")
            #expect(try JSONParser.parse(read.output.trimmingCharacters(in: .whitespacesAndNewlines))["metadata"]?["principal"] == "admin")
            let tailed = try runExecutable("prism", ["tail", "--from", "0", "--count", "1"] + secure)
            #expect(tailed.status == 0, "\(tailed.error)")
            #expect(tailed.output.hasPrefix("1 user-ada@0 UserRegistered"))
            let refusedTail = try runExecutable("prism", ["tail", "--from", "0", "--count", "1", "--identity", "reader"] + secure, timeout: 30)
            #expect(refusedTail.status == 1)
            #expect(refusedTail.error.contains("Forbidden"), "\(refusedTail.error)")
            let appended = try runExecutable("prism", ["append", "note-1", "NoteAdded", "text=hi"] + secure)
            #expect(appended.status == 0, "\(appended.error)")
            let bench = try runExecutable("prism", ["bench", "append", "--clients", "2", "--events", "20", "--streams", "3"] + secure)
            #expect(bench.status == 0, "\(bench.error)")
            let load = try runExecutable("prism", ["load", "--rate", "100", "--duration", "0.3", "--users", "5", "--projector", "none"] + secure)
            #expect(load.status == 0, "\(load.error)")

            let forbidden = try runExecutable("prism", ["send", "RegisterUser", "userId=bob", "name=Bob", "state=Ohio", "--identity", "reader"] + secure)
            #expect(forbidden.status == 1)
            #expect(forbidden.error.contains("Forbidden"), "\(forbidden.error)")

            // Refused at the handshake: silence, and the message says what to check.
            let stranger = try runExecutable("prism", ["send", "RegisterUser", "userId=eve", "name=Eve", "state=Ohio", "--identity", "stranger"] + secure)
            #expect(stranger.status == 1)
            #expect(stranger.error.contains("check that your key (\(keys.path)/stranger.key) is authorized on the server"), "\(stranger.error)")
            #expect(stranger.error.contains("\(keys.path)/write-node.pub is the server's key"))
            let missing = try runExecutable("prism", ["send", "RegisterUser", "userId=eve", "--identity", "nobody"] + secure)
            #expect(missing.status == 1)
            #expect(missing.error.contains("nobody.key"), "\(missing.error)")
            let plain = try runExecutable("prism", ["send", "RegisterUser", "userId=eve", "name=Eve", "state=Ohio"] + endpoints)
            #expect(plain.status == 1, "a plain-text client reached a CURVE server")
        }
    }
}

import Foundation
import Logging
@testable import Security
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// Who is admitted at the handshake, what each role may ask, and what a reload changes.
@Suite struct GatekeeperTests {
    /// A key directory with a writer, a reader, a projector and an admin authorized.
    func withKeys(_ body: (KeyDirectory, Gatekeeper) throws -> Void) throws {
        try withTemporaryDirectory("prism-gatekeeper") { directory in
            let keys = KeyDirectory(directory)
            try keys.generate("writer", roles: [.writer], authorize: true)
            try keys.generate("reader", roles: [.reader], authorize: true)
            try keys.generate("projector", roles: [.projector], authorize: true)
            try keys.generate("admin", roles: [.admin], authorize: true)
            try body(keys, try Gatekeeper(authorizedDirectory: keys.authorizedPath, logger: Logger(label: "test")))
        }
    }

    func key(_ keys: KeyDirectory, _ name: String) throws -> String { try keys.keyPair(name).publicKey }

    @Test func eachRoleMayDoItsOwnAndAdminEverything() throws {
        try withKeys { keys, gatekeeper in
            let (writer, admin, projector, reader) = (try key(keys, "writer"), try key(keys, "admin"), try key(keys, "projector"), try key(keys, "reader"))
            #expect(try gatekeeper.authorize(writer, .writer, for: "append").name == "writer")
            #expect(try gatekeeper.authorize(admin, .writer, for: "append").name == "admin")
            #expect(try gatekeeper.authorize(admin, .admin, for: "rebuild").name == "admin")
            // Any role will do for health and stats.
            #expect(try gatekeeper.authorize(projector, nil, for: "query stats").name == "projector")
            let error = #expect(throws: WireError.self) { try gatekeeper.authorize(reader, .writer, for: "append") }
            #expect(error?.code == .forbidden)
            #expect(error?.message == "append refused: principal 'reader' has roles [reader]; append needs writer")
            #expect(throws: WireError.self) { try gatekeeper.authorize(writer, .admin, for: "rebuild") }
            #expect(throws: WireError.self) { try gatekeeper.authorize(nil, .reader, for: "query") }
            #expect(gatekeeper.refusals["requests"] == .int(3))
        }
    }

    @Test func theZAPHandlerAdmitsKnownKeysAndNamesTheConnectionByItsKey() throws {
        try withKeys { keys, gatekeeper in
            let writer = try keys.keyPair("writer").publicKey
            let reply = ZAPHandler.reply(to: zapRequest(domain: "command", key: CurveKey.raw(writer)!), gatekeeper)
            #expect(reply.map { String(decoding: $0, as: UTF8.self) } == ["1.0", "7", "200", "OK", writer, ""])

            let stranger = try CurveKeyPair.generate().publicKey
            let refused = ZAPHandler.reply(to: zapRequest(domain: "command", key: CurveKey.raw(stranger)!), gatekeeper)
            #expect(String(decoding: refused[2], as: UTF8.self) == "400" && refused[4].isEmpty)
            // PUB cannot check messages: only a projector (or admin) is admitted there.
            let reader = try keys.keyPair("reader").publicKey
            #expect(ZAPHandler.reply(to: zapRequest(domain: "publish", key: CurveKey.raw(reader)!), gatekeeper)[2] == Array("400".utf8))
            let projector = try keys.keyPair("projector").publicKey
            #expect(ZAPHandler.reply(to: zapRequest(domain: "publish", key: CurveKey.raw(projector)!), gatekeeper)[2] == Array("200".utf8))
            #expect(gatekeeper.refusals["handshakes"] == .int(2))

            var plain = zapRequest(domain: "command", key: [])
            plain[5] = Array("NULL".utf8)
            plain.removeLast()
            #expect(ZAPHandler.reply(to: plain, gatekeeper)[2] == Array("400".utf8))
            #expect(ZAPHandler.reply(to: [Array("2.0".utf8)], gatekeeper)[2] == Array("500".utf8))
        }
    }

    @Test func aReloadRevokesRemovedKeysAndAFailedReloadKeepsTheOldSet() throws {
        try withKeys { keys, gatekeeper in
            let writer = try key(keys, "writer")
            #expect(gatekeeper.revocationCount == 0)
            try FileManager.default.removeItem(atPath: "\(keys.authorizedPath)/writer.pub")
            #expect(try gatekeeper.reload().get() == 3)
            #expect(gatekeeper.revocationCount == 1)
            let error = #expect(throws: WireError.self) { try gatekeeper.authorize(writer, .writer, for: "append") }
            #expect(error?.message.contains("no longer authorized") == true)

            // Adding a key takes nothing away.
            try keys.generate("writer2", roles: [.writer], authorize: true)
            _ = gatekeeper.reload()
            #expect(gatekeeper.revocationCount == 1)

            // A broken file: the reload fails and the current set stays.
            try "curve\n    public-key = \"nope\"\n".write(toFile: "\(keys.authorizedPath)/broken.pub", atomically: true, encoding: .utf8)
            #expect(throws: SecurityError.self) { try gatekeeper.reload().get() }
            let writer2 = try key(keys, "writer2")
            #expect(try gatekeeper.authorize(writer2, .writer, for: "append").name == "writer2")
        }
    }

    @Test func oneKeyInTwoFilesIsRefused() throws {
        try withKeys { keys, _ in
            try FileManager.default.copyItem(atPath: "\(keys.authorizedPath)/reader.pub", toPath: "\(keys.authorizedPath)/reader-copy.pub")
            let error = #expect(throws: SecurityError.self) { try AuthorizedKeys.load(directory: keys.authorizedPath) }
            #expect(error?.message.contains("same key") == true)
        }
    }

    @Test func revocationMeansARightWasTakenNotAdded() {
        let before = AuthorizedKeys(principals: ["k1": Principal(name: "a", roles: [.writer, .reader])])
        #expect(!before.isRevoked(by: AuthorizedKeys(principals: ["k1": Principal(name: "a", roles: [.writer, .reader, .admin]), "k2": Principal(name: "b", roles: [])])))
        #expect(before.isRevoked(by: AuthorizedKeys(principals: ["k1": Principal(name: "a", roles: [.writer])])))
        #expect(before.isRevoked(by: AuthorizedKeys()))
    }

    @Test func refusedKeysAreLoggedOnceAndAStormIsCappedPerWindow() {
        var log = RefusalLog()
        var logged = 0
        for round in 0..<3 {
            for key in 0..<5 where log.note("fp-\(key)", now: Int64(round)).isLog { logged += 1 }
        }
        #expect(logged == 5)
        // 100 fresh keys in one window: 5 more logged (10 per window), the rest counted.
        var decisions: [RefusalLog.Decision] = []
        for key in 100..<200 { decisions.append(log.note("fp-\(key)", now: 1)) }
        #expect(decisions.filter(\.isLog).count == 5)
        // The next window logs again, saying how many went unlogged.
        guard case .log(let unlogged) = log.note("fp-next", now: RefusalLog.windowNanoseconds + 2) else {
            Issue.record("a new window logs")
            return
        }
        #expect(unlogged == 95)
    }

    private func zapRequest(domain: String, key: [UInt8]) -> [[UInt8]] {
        ["1.0", "7", domain, "127.0.0.1", ""].map { Array($0.utf8) } + [Array("CURVE".utf8), key]
    }
}

extension RefusalLog.Decision {
    var isLog: Bool { if case .log = self { true } else { false } }
}

import Foundation
import Security
import Testing
import TestSupport
import WireProtocol

/// Secure mode (`--keys`): the relay appends as its own key, which needs the `writer` role (and
/// `projector` for stream reads), and its query endpoint takes authorized keys only.
@Suite(.serialized) struct RelaySecurityTests {
    @Test func theRelayAppendsWithItsKeyAndServesAuthorizedReaders() throws {
        let keysDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("prism-relay-keys-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: keysDirectory) }
        let keys = KeyDirectory(keysDirectory.path)
        try keys.generate("write-node", roles: [], authorize: false)
        try keys.generate("outbox-relay", roles: [.writer, .projector], authorize: true)
        try keys.generate("admin", roles: [.admin], authorize: true)
        try keys.generate("reader", roles: [.reader], authorize: true)
        let system = try RelaySystem(
            writeNodeArguments: ["--keys", keys.path], curve: try keys.clientKeys(identity: "admin", server: "write-node"))

        // A key without the writer role: the write node refuses its appends, and health says why.
        let refused = try system.startRelay(["--keys", keys.path, "--identity", "reader"], curve: try keys.clientKeys(identity: "reader", server: "reader"))
        let id = try system.insert([("note-1", "Noted", "{}")])[0]
        let forbidden = waitUntil(timeout: .seconds(20), interval: .milliseconds(50)) {
            (try? refused.query("health"))?["result"]?["writeNode"]?["error"]?.stringValue?.contains("Forbidden") == true
        }
        #expect(forbidden, "\((try? refused.query("health"))?.jsonString ?? "?")")
        refused.kill()

        let relay = try system.startRelay(["--keys", keys.path], curve: try keys.clientKeys(identity: "reader", server: "outbox-relay"))
        let answer = try relay.query("positionOf", ["id": .string(id.uuidString)], waitMs: 10_000)
        #expect(answer["result"]?["position"]?.intValue == 1, "\(answer.jsonString)")
        let log = try system.log()
        #expect(log.count == 1)
        #expect(try log.first.map { try JSONParser.parse($0.metadata ?? []) }?["principal"] == "outbox-relay")
    }
}

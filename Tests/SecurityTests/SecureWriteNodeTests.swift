import Foundation
import Logging
import Security
import TestSupport
import Testing
import WireProtocol
import WriteNodeHost
import ZeroMQ

/// A write node with `--keys`, over real CURVE connections: who may append, what the log records,
/// and what a SIGHUP reload (here `reloadAuthorizedKeys`) takes away from open connections.
@Suite struct SecureWriteNodeTests {
    struct Setup {
        var keys: KeyDirectory
        var node: InProcessWriteNode
        var gatekeeper: Gatekeeper

        func client(_ identity: String) throws -> WriteNodeClient {
            try WriteNodeClient(endpoint: node.commandEndpoint, curve: keys.clientKeys(identity: identity, server: "write-node"))
        }

        func subscriber(_ identity: String) throws -> (Context, Socket) {
            let context = try Context()
            let socket = try Socket(context, .sub)
            try socket.setLinger(0)
            try socket.makeCurveClient(keys.clientKeys(identity: identity, server: "write-node"))
            try socket.subscribe(EventFrames.heartbeatTopic)
            try socket.connect(node.publishEndpoint)
            return (context, socket)
        }

        func revoke(_ identity: String) throws {
            try FileManager.default.removeItem(atPath: "\(keys.authorizedPath)/\(identity).pub")
            try gatekeeper.reload().get()
        }
    }

    func withSecureNode(_ body: (Setup) throws -> Void) throws {
        try withTemporaryDirectory("prism-secure") { directory in
            let keys = KeyDirectory("\(directory)/keys")
            try keys.generate("write-node", roles: [], authorize: false)
            try keys.generate("writer", roles: [.writer], authorize: true)
            try keys.generate("reader", roles: [.reader], authorize: true)
            try keys.generate("projector", roles: [.projector], authorize: true)
            try keys.generate("stranger", roles: [.admin], authorize: false)
            let security = try ServerSecurity(keys: keys, identity: "write-node", logger: Logger(label: "test"))
            let node = try InProcessWriteNode(dataDirectory: "\(directory)/data") { $0.security = security }
            defer { node.stop() }
            try body(Setup(keys: keys, node: node, gatekeeper: security.gatekeeper))
        }
    }

    @Test func aWriterAppendsAndTheLogSaysWhoWroteIt() throws {
        try withSecureNode { setup in
            let writer = try setup.client("writer")
            let reply = try writer.send(["append": [
                "stream": "note-1",
                "events": [["id": .string(UUID().uuidString), "type": "NoteAdded", "metadata": ["principal": "someone-else", "trace": "t1"]]],
            ]])
            #expect(reply["ok"] == .bool(true), "\(reply)")

            let catchUp = try DealerConnection(endpoint: setup.node.catchUpEndpoint, curve: setup.keys.clientKeys(identity: "projector", server: "write-node"))
            try catchUp.send(CatchUp.Request(after: 0, limit: 10).json)
            let frames = try #require(try catchUp.receiveFrames(timeout: 5000))
            let event = try EventFrames.decodeBody(try #require(frames.last))
            // The client's claim is overwritten; its other metadata is kept.
            #expect(try JSONParser.parse(try #require(event.metadata)) == ["principal": "writer", "trace": "t1"])
        }
    }

    @Test func eachEndpointRefusesTheRolesItDoesNotServe() throws {
        try withSecureNode { setup in
            let reader = try setup.client("reader")
            let refused = try reader.send(appendRequest(stream: "note-1", ids: [UUID()]))
            #expect(refused["error"]?["code"] == "Forbidden", "\(refused)")
            #expect(try reader.send(["query": "health"])["ok"] == .bool(true))

            let catchUp = try DealerConnection(endpoint: setup.node.catchUpEndpoint, curve: setup.keys.clientKeys(identity: "reader", server: "write-node"))
            try catchUp.send(CatchUp.Request(after: 0, limit: 10).json)
            let reply = try JSONParser.parse(try #require(try catchUp.receiveFrames(timeout: 5000)?.last))
            #expect(reply["error"]?["code"] == "Forbidden")

            let stats = try reader.send(["query": "stats"])
            #expect(stats["result"]?["refusals"]?["requests"] == .int(2), "\(stats)")
        }
    }

    @Test func anUnknownKeyIsRefusedAtTheHandshakeAndCounted() throws {
        try withSecureNode { setup in
            let stranger = try setup.client("stranger")
            #expect(throws: RequestClient.Timeout.self) { try stranger.send(["query": "health"], timeout: 300) }
            let reader = try setup.client("reader")
            #expect(try waitUntil(timeout: .seconds(5)) {
                (try reader.send(["query": "stats"])["result"]?["refusals"]?["handshakes"]?.intValue ?? 0) >= 1
            })
            // A client in plain text gets nowhere either (no CURVE handshake at all).
            let plain = try WriteNodeClient(endpoint: setup.node.commandEndpoint)
            #expect(throws: RequestClient.Timeout.self) { try plain.send(["query": "health"], timeout: 300) }
        }
    }

    @Test func aRevokedWriterLosesItsRightsOnItsOpenConnection() throws {
        try withSecureNode { setup in
            let writer = try setup.client("writer")
            _ = try writer.append(stream: "note-1")
            try setup.revoke("writer")
            let reply = try writer.send(appendRequest(stream: "note-1", ids: [UUID()]))
            #expect(reply["error"]?["code"] == "Forbidden")
            #expect(reply["error"]?["message"]?.stringValue?.contains("no longer authorized") == true)
        }
    }

    /// A subscriber sends nothing to check: a revocation drops every subscriber, and only those
    /// still authorized are admitted again. The one kept is the clock: no fixed wait.
    @Test func aRevokedSubscriberStopsReceivingWhileOthersGoOn() throws {
        try withSecureNode { setup in
            try setup.keys.generate("projector-2", roles: [.projector], authorize: true)
            _ = try setup.gatekeeper.reload().get()
            let (keptContext, kept) = try setup.subscriber("projector")
            let (revokedContext, revoked) = try setup.subscriber("projector-2")
            defer { withExtendedLifetime((keptContext, revokedContext)) {} }
            // A reader is refused at the PUB handshake: it never hears even a heartbeat.
            let (readerContext, reader) = try setup.subscriber("reader")
            defer { withExtendedLifetime(readerContext) {} }
            for socket in [kept, revoked] {
                try socket.setReceiveTimeout(5000)
                #expect(try socket.receive() != nil)
            }

            try setup.revoke("projector-2")
            // Heartbeats come every 100 ms; once the kept subscriber is back and has heard five
            // after the revoked one's last, the revoked one has been refused.
            func drain(_ socket: Socket) throws -> Int {
                var count = 0
                while try socket.receive(dontWait: true) != nil { count += 1 }
                return count
            }
            var heardAfter = 0
            #expect(try waitUntil(timeout: .seconds(10)) {
                if try drain(revoked) > 0 { heardAfter = 0 }
                heardAfter += try drain(kept)
                return heardAfter >= 5
            })
            #expect(try drain(revoked) == 0)
            #expect(try drain(reader) == 0)
        }
    }
}

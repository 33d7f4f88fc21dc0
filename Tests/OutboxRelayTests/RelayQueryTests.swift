import Foundation
import PostgresNIO
import PostgresStore
import Testing
import TestSupport
import WireProtocol

/// Dead letters, `positionOf` for read-your-writes, bad requests, and the standby relay.
@Suite(.serialized) struct RelayQueryTests {
    @Test func malformedRowsAreParkedAndTheRestFlow() throws {
        let system = try RelaySystem()
        let relay = try system.startRelay()
        let big = String(repeating: "x", count: 70_000)
        let ids = try system.insert([
            ("note-1", "Noted", #"{"n": 0}"#),
            ("", "Noted", "{}"),
            ("-bad", "Noted", "{}"),
            ("note-1", "has space", "{}"),
            ("note-1", "Noted", #"{"text": "\#(big)"}"#),
            ("note-1", "Noted", #"{"x": 1e400}"#),
            ("note-1", "Noted", #"{"n": 1}"#),
        ])
        let settled = try waitUntil(timeout: .seconds(30), interval: .milliseconds(50)) { try system.outboxCount() == 0 }
        #expect(settled)
        let log = try system.log()
        #expect(log.map(\.id) == [ids[0], ids[6]])
        #expect(log.map(\.version) == [0, 1])
        var reasons: [UUID: String] = [:]
        for row in try system.application.query("SELECT id, reason FROM prism_outbox_dead_letter") {
            let (id, reason) = try row.decode((UUID, String).self)
            reasons[id] = reason
        }
        #expect(Set(reasons.keys) == Set(ids[1...5]))
        #expect(reasons[ids[1]]?.contains("stream name is empty") == true)
        #expect(reasons[ids[2]]?.contains("starts with '-'") == true)
        #expect(reasons[ids[3]]?.contains("InvalidArgument") == true)
        #expect(reasons[ids[4]]?.contains("bytes of data and metadata") == true)
        #expect(reasons[ids[5]]?.hasPrefix("data or metadata cannot be relayed") == true, "\(reasons[ids[5]] ?? "none")")
        #expect(relay.healthStatus == "serving")
        #expect(try relay.query("stats")["result"]?["deadLettered"]?.intValue == 5)
        let parked = try relay.query("positionOf", ["id": .string(ids[3].uuidString)])
        #expect(parked["error"]?["code"] == "Rejected")
    }

    @Test func positionOfThenAProjectorQueryWithMinPositionSeesTheRow() throws {
        let system = try RelaySystem()
        let relay = try system.startRelay(["--recent-positions", "1"])
        let status = ProjectorProcess("status", writeNode: system.writeNode, workDirectory: system.directory)
        try status.start()
        defer { status.kill() }
        let data = #"{"amountCents": 4999, "description": "red shoes", "orderId": "o-1", "status": "payment_pending", "userId": "u1"}"#
        let id = try system.insert([("order-o-1", "OrderCreated", data)])[0]
        let answer = try relay.query("positionOf", ["id": .string(id.uuidString)], waitMs: 10_000)
        let position = try #require(answer["result"]?["position"]?.intValue)
        let order = try QueryClient(endpoint: status.queryEndpoint).query("orderStatus", ["orderId": "o-1"], minPosition: position, waitMs: 10_000)
        #expect(order["result"]?["status"] == "payment_pending")

        // Past the ids kept in memory (one here), the stream names where to look in the log.
        let other = try system.insert([("order-o-2", "OrderCreated", data.replacingOccurrences(of: "o-1", with: "o-2"))])[0]
        #expect(try relay.query("positionOf", ["id": .string(other.uuidString)], waitMs: 10_000)["ok"] == true)
        let forgotten = try relay.query("positionOf", ["id": .string(id.uuidString)])
        #expect(forgotten["error"]?["code"] == "InvalidArgument")
        let looked = try relay.query("positionOf", ["id": .string(id.uuidString), "stream": "order-o-1"])
        #expect(looked["result"]?["position"]?.intValue == position)

        // A committed row the write node cannot take yet: NotYetRelayed after the wait, then its position.
        _ = system.writeNode.stop()
        let pending = try system.insert([("note-p", "Noted", "{}")])[0]
        #expect(try relay.query("positionOf", ["id": .string(pending.uuidString)], waitMs: 300)["error"]?["code"] == "NotYetRelayed")
        try system.writeNode.start()
        #expect(try relay.query("positionOf", ["id": .string(pending.uuidString)], waitMs: 20_000)["result"]?["position"]?.intValue != nil)
    }

    @Test func aNotificationWakesTheRelayLongBeforeItsPoll() throws {
        let system = try RelaySystem()
        let relay = try system.startRelay(["--poll-interval-ms", "600000"])
        for round in 0..<3 {
            let id = try system.insert([("note-\(round)", "Noted", "{}")])[0]
            let answer = try relay.query("positionOf", ["id": .string(id.uuidString)], waitMs: 30_000)
            #expect(answer["result"]?["position"]?.intValue == Int64(round + 1), "\(answer.jsonString)")
        }
    }

    /// A notifying commit is serialized with every other one (docs/OUTBOX.md, "Waking the relay"):
    /// the trigger notifies only while the relay waits, never while it has rows to relay.
    @Test func theTriggerNotifiesOnlyWhileTheRelayWaits() throws {
        let system = try RelaySystem()
        let relay = try system.startRelay()
        #expect(try waitUntil(timeout: .seconds(20)) { try system.triggerNotifies() == true }, "\(relay.standardError)")
        _ = system.writeNode.stop()
        _ = try system.insert([("note-w", "Noted", "{}")])
        #expect(try waitUntil(timeout: .seconds(20)) { try system.triggerNotifies() == false }, "\(relay.standardError)")
        try system.writeNode.start()
        #expect(try waitUntil(timeout: .seconds(30)) { try system.outboxCount() == 0 && system.triggerNotifies() == true })
    }

    @Test func badRequestsGetPreciseErrorsAndTheEndpointKeepsServing() throws {
        let system = try RelaySystem()
        let relay = try system.startRelay()
        let client = try QueryClient(endpoint: relay.queryEndpoint)
        #expect(try client.send(Array("not json".utf8))["error"]?["code"] == "Malformed")
        #expect(try client.query("nope")["error"]?["code"] == "UnknownQuery")
        #expect(try client.query("positionOf")["error"]?["code"] == "InvalidArgument")
        #expect(try client.query("positionOf", ["id": "not-a-uuid"])["error"]?["code"] == "InvalidArgument")
        #expect(try client.query("positionOf", ["id": .string(UUID().uuidString)], minPosition: 3)["error"]?["code"] == "InvalidArgument")
        let unknown = try client.query("positionOf", ["id": .string(UUID().uuidString)])
        #expect(unknown["error"]?["code"] == "InvalidArgument", "\(unknown.jsonString) \(relay.standardError)")
        #expect(try client.query("positionOf", ["id": .string(UUID().uuidString), "stream": "-x"])["error"]?["code"] == "InvalidArgument")
        let health = try client.query("health")
        #expect(health["result"]?["status"] == "serving")
        #expect(health["result"]?["postgres"]?["status"] == "connected")
        #expect(health["result"]?["writeNode"]?["status"] == "connected")
    }

    @Test func aSecondRelayWaitsInStandbyAndTakesOver() throws {
        let system = try RelaySystem()
        let first = try system.startRelay(["--poll-interval-ms", "100"])
        #expect(waitUntil(timeout: .seconds(10)) { first.healthStatus == "serving" })
        let second = try system.startRelay(["--poll-interval-ms", "100"])
        #expect(waitUntil(timeout: .seconds(10)) { second.healthStatus == "standby" })
        var ids = try system.insert((0..<20).map { ("note-\($0 % 3)", "Noted", "{}") })
        #expect(try waitUntil(timeout: .seconds(20), interval: .milliseconds(20)) { try system.outboxCount() == 0 })
        first.kill()
        #expect(waitUntil(timeout: .seconds(20), interval: .milliseconds(20)) { second.healthStatus == "serving" })
        ids += try system.insert((0..<20).map { ("note-\($0 % 3)", "Noted", "{}") })
        #expect(try waitUntil(timeout: .seconds(20), interval: .milliseconds(20)) { try system.outboxCount() == 0 })
        let log = try system.log()
        #expect(log.map(\.id) == ids)
        // SIGTERM: the batch in hand finished, the sockets closed, exit 0.
        #expect(second.stop() == 0, "\(second.standardError)")
    }
}

import Foundation
import TestSupport
import Testing
import WireProtocol

/// The orders domain and the generic append, through a real write-node process.
@Suite struct CommandTests {
    @Test func ordersLifecycleGetsGapFreePositions() throws {
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        let registered = try harness.registerUser("u1")
        #expect(registered.isOK)
        #expect(registered["position"] == 1)
        #expect(registered["events"]?.arrayValue?.first?["stream"] == "user-u1")
        #expect(registered["events"]?.arrayValue?.first?["type"] == "UserRegistered")

        let placed = try harness.placeOrder("o-123", user: "u1")
        #expect(placed["position"] == 2)
        #expect(placed["events"]?.arrayValue?.first?["stream"] == "order-o-123")
        #expect(placed["events"]?.arrayValue?.first?["version"] == 0)

        #expect(try harness.client.command("ConfirmPayment", ["orderId": "o-123"])["position"] == 3)
        #expect(try harness.client.command("ShipOrder", ["orderId": "o-123"])["position"] == 4)
        let cancel = try harness.client.command("CancelOrder", ["orderId": "o-123", "reason": "too late"])
        #expect(cancel.errorCode == "Rejected")
        #expect(cancel.errorMessage?.contains("shipped") == true)
        // A rejected command writes nothing: the next event takes position 5.
        #expect(try harness.client.command("ChangeUserAddress", ["userId": "u1", "state": "Oregon"])["position"] == 5)
    }

    @Test func domainRulesAreEnforcedAcrossStreams() throws {
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        #expect(try harness.placeOrder("o-1", user: "ghost").errorCode == "Rejected")
        _ = try harness.registerUser("u1")
        #expect(try harness.registerUser("u1").errorCode == "Rejected")
        _ = try harness.placeOrder("o-1", user: "u1")
        #expect(try harness.placeOrder("o-1", user: "u1").errorCode == "Rejected")
        #expect(try harness.client.command("ShipOrder", ["orderId": "o-1"]).errorCode == "Rejected")
    }

    @Test func appendChecksExpectedVersionAndIsIdempotent() throws {
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        let id = UUID().uuidString
        func append(_ expected: JSONValue, id: String = UUID().uuidString) throws -> JSONValue {
            try harness.client.send([
                "append": ["stream": "note-1", "expectedVersion": expected,
                           "events": [["id": .string(id), "type": "NoteAdded", "data": ["text": "hello"]]]],
            ])
        }
        let first = try append("noStream", id: id)
        #expect(first.isOK)
        #expect(first["position"] == 1)
        let retry = try append("noStream", id: id)
        #expect(retry.isOK, "a retry with the same event id returns the original result")
        #expect(retry["position"] == 1)
        let conflict = try append(5)
        #expect(conflict.errorCode == "WrongExpectedVersion")
        #expect(conflict.errorMessage?.contains("note-1") == true)
        #expect(try append(0)["position"] == 2)
        #expect(try append("any")["position"] == 3)
        #expect(try append("noStream").errorCode == "WrongExpectedVersion")
    }

    @Test func commandsAfterAnAppendToTheSameStreamInOneBatchSeeIt() throws {
        // Received together: the command must see the append before it.
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        _ = try harness.registerUser("u1")
        let socket = try DealerConnection(endpoint: harness.node.commandEndpoint)
        var order = 0
        let replies = try harness.sendTogether(on: socket) {
            order += 1
            _ = try harness.placeOrder("o-\(order)", user: "u1")
            return [
                ["append": ["stream": .string("order-o-\(order)"), "expectedVersion": 0,
                            "events": [["id": .string(UUID().uuidString), "type": "NoteAdded", "data": [:]]]]],
                ["command": "ConfirmPayment", "data": ["orderId": .string("o-\(order)")]],
            ]
        }
        let appended = try #require(replies[0]["position"]?.intValue, "\(replies[0])")
        #expect(replies[1]["position"]?.intValue == appended + 1, "\(replies[1])")
        #expect(replies[1]["events"]?.arrayValue?.first?["version"] == 2)
    }

    @Test func sigtermExitsZero() throws {
        let harness = try WriteNodeHarness()
        _ = try harness.registerUser("u1")
        #expect(harness.close() == 0)
    }
}

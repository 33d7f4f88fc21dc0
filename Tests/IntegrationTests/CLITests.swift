import Foundation
import TestSupport
import Testing
import ZeroMQ
import WireProtocol

/// The `prism` command-line client against real processes: output, `--json`, exit statuses.
@Suite(.serialized) struct CLITests {
    @Test func sendAppendReadQueryAndStatus() throws {
        let system = try SystemHarness(projectors: ["orders", "status"])
        defer { system.close() }
        let node = ["--command-endpoint", system.writeNode.commandEndpoint]
        let reader = ["--catch-up-endpoint", system.writeNode.catchUpEndpoint]

        let registered = try runExecutable("prism", ["send", "RegisterUser", "userId=ada", "name=Ada Lovelace", "state=California"] + node)
        #expect(registered.status == 0)
        #expect(registered.output == "position 1: user-ada@0 UserRegistered\n")

        let placed = try runExecutable("prism", ["send", "PlaceOrder", "orderId=o-1", "userId=ada", "amountCents:=4999",
                                                 "description=red running shoes", "--json"] + node)
        #expect(placed.status == 0)
        let reply = try JSONParser.parse(placed.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(reply["position"] == 2)

        let rejected = try runExecutable("prism", ["send", "ShipOrder", "orderId=o-1"] + node)
        #expect(rejected.status == 1)
        #expect(rejected.error.contains("Rejected: order o-1 cannot be shipped"), "\(rejected.error)")

        let appended = try runExecutable("prism", ["append", "order-o-1", "NoteAdded", "text=call back", "--expected-version", "0"] + node)
        #expect(appended.status == 0)
        #expect(appended.output.contains("position 3: order-o-1@1 NoteAdded"))
        let conflict = try runExecutable("prism", ["append", "order-o-1", "NoteAdded", "--expected-version", "0"] + node)
        #expect(conflict.status == 1)
        #expect(conflict.error.contains("WrongExpectedVersion"))

        let read = try runExecutable("prism", ["read", "order-o-1"] + reader)
        #expect(read.status == 0)
        #expect(read.output.split(separator: "\n").map { $0.split(separator: " ").prefix(3).joined(separator: " ") }
                == ["2 order-o-1@0 OrderCreated", "3 order-o-1@1 NoteAdded"])

        let query = try runExecutable("prism", ["query", "orders", "order", "orderId=o-1", "--min-position", "3",
                                                "--endpoint", system.projectors["orders"]!.queryEndpoint, "--json"])
        #expect(query.status == 0)
        #expect(try JSONParser.parse(query.output.trimmingCharacters(in: .whitespacesAndNewlines))["result"]?["userState"] == "California")
        let badQuery = try runExecutable("prism", ["query", "orders", "nope", "--endpoint", system.projectors["orders"]!.queryEndpoint])
        #expect(badQuery.status == 1)
        #expect(badQuery.error.contains("UnknownQuery"))

        let status = try runExecutable("prism", ["status", "--json"] + node + [
            "--projector", "orders=\(system.projectors["orders"]!.queryEndpoint)",
            "--projector", "status=\(system.projectors["status"]!.queryEndpoint)",
            "--projector", "gone=\(freeTCPEndpoint())", "--timeout-ms", "300",
        ])
        // A projector down: the table still prints, and the exit status says so.
        #expect(status.status == 1)
        let table = try JSONParser.parse(status.output.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(table["head"] == 3)
        let rows = table["projectors"]?.arrayValue ?? []
        let gone = rows.first { $0["name"] == "gone" }
        #expect(gone?["status"] == "unreachable")
        #expect(gone?["error"]?.stringValue?.contains("nothing is listening at") == true)
        #expect(rows.first { $0["name"] == "orders" }?["applied"]?.intValue ?? 0 >= 2)

        let allUp = try runExecutable("prism", ["status"] + node + ["--projector", "orders=\(system.projectors["orders"]!.queryEndpoint)"])
        #expect(allUp.status == 0, "\(allUp.output)\(allUp.error)")
    }

    @Test func usageErrorsAndUnreachableNodes() throws {
        let badField = try runExecutable("prism", ["send", "PlaceOrder", "amountCents"])
        #expect(badField.status == 1)
        #expect(badField.error.contains("expected key=value"))
        let badJSON = try runExecutable("prism", ["send", "PlaceOrder", "amountCents:=12x"])
        #expect(badJSON.status == 1)
        #expect(badJSON.error.contains("must be JSON"))
        let unknownFlag = try runExecutable("prism", ["send", "X", "--colour", "red"])
        #expect(unknownFlag.status == 64)
        // Nothing listening: said at once (no timeout to wait out), with how to start it.
        let nobody = try runExecutable("prism", ["send", "RegisterUser", "userId=u", "--command-endpoint", freeTCPEndpoint()])
        #expect(nobody.status == 1)
        #expect(nobody.error.contains("nothing is listening at tcp://127.0.0.1:"))
        #expect(nobody.error.contains("./scripts/start") && nobody.error.contains("--command-endpoint"))
        let noStatus = try runExecutable("prism", ["status", "--command-endpoint", freeTCPEndpoint(), "--projector", "orders=\(freeTCPEndpoint())"])
        #expect(noStatus.status == 1)
        #expect(noStatus.output.contains("write node: unreachable: nothing is listening"))

        // Listening but silent (a socket that never answers): the timeout, with the same hint.
        let context = try Context()
        let silent = try Socket(context, .router)
        defer { silent.close(linger: 0) }
        let endpoint = try silent.bindEphemeralTCP()
        let unanswered = try runExecutable("prism", ["query", "orders", "countByStatus", "--endpoint", endpoint, "--timeout-ms", "300"])
        #expect(unanswered.status == 1)
        #expect(unanswered.error.contains("no reply from \(endpoint) within 300 ms"))
        #expect(unanswered.error.contains("is the orders-projector running?"))
    }
}

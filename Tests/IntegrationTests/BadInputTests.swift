import Foundation
import TestSupport
import Testing
import WireProtocol

/// Every kind of bad request gets a precise error and the node keeps serving: after each one,
/// a good command still succeeds at the next position.
@Suite struct BadInputTests {
    struct Case: CustomStringConvertible, Sendable {
        var description: String
        var body: [UInt8]
        var code: String
        var messageContains: String
    }

    static let cases: [Case] = [
        Case(description: "not JSON", body: Array("hello".utf8), code: "Malformed", messageContains: "invalid JSON at byte 0"),
        Case(description: "truncated JSON", body: Array(#"{"command": "PlaceOrder""#.utf8), code: "Malformed", messageContains: "end of input"),
        Case(description: "not an object", body: Array("[1,2]".utf8), code: "Malformed", messageContains: "must be a JSON object"),
        Case(description: "no command", body: Array(#"{"data": {}}"#.utf8), code: "Malformed", messageContains: "'command'"),
        Case(description: "command not a string", body: Array(#"{"command": 7}"#.utf8), code: "Malformed", messageContains: "non-empty string"),
        Case(description: "unknown command", body: Array(#"{"command": "Explode", "data": {}}"#.utf8), code: "UnknownCommand", messageContains: "Explode"),
        Case(description: "data not an object", body: Array(#"{"command": "PlaceOrder", "data": 5}"#.utf8), code: "InvalidArgument", messageContains: "data must be an object"),
        Case(description: "missing field", body: Array(#"{"command": "RegisterUser", "data": {"name": "A", "state": "CA"}}"#.utf8), code: "InvalidArgument", messageContains: "userId is missing"),
        Case(description: "mistyped field", body: Array(#"{"command": "PlaceOrder", "data": {"orderId": "o", "userId": "u", "amountCents": "12", "description": "d"}}"#.utf8), code: "InvalidArgument", messageContains: "amountCents must be an integer"),
        Case(description: "empty id", body: Array(#"{"command": "ConfirmPayment", "data": {"orderId": ""}}"#.utf8), code: "InvalidArgument", messageContains: "orderId is empty"),
        Case(description: "oversized id", body: Array(#"{"command": "ConfirmPayment", "data": {"orderId": "\#(String(repeating: "x", count: 65))"}}"#.utf8), code: "InvalidArgument", messageContains: "more than the 64 allowed"),
        Case(description: "ill-formed id", body: Array(#"{"command": "ConfirmPayment", "data": {"orderId": "a b"}}"#.utf8), code: "InvalidArgument", messageContains: "not allowed in an id"),
        Case(description: "zero amount", body: Array(#"{"command": "PlaceOrder", "data": {"orderId": "o", "userId": "u", "amountCents": 0, "description": "d"}}"#.utf8), code: "InvalidArgument", messageContains: "greater than 0"),
        Case(description: "negative amount", body: Array(#"{"command": "PlaceOrder", "data": {"orderId": "o", "userId": "u", "amountCents": -5, "description": "d"}}"#.utf8), code: "InvalidArgument", messageContains: "greater than 0, got -5"),
        Case(description: "append without events", body: Array(#"{"append": {"stream": "s-1", "events": []}}"#.utf8), code: "InvalidArgument", messageContains: "events is empty"),
        Case(description: "append with a bad event id", body: Array(#"{"append": {"stream": "s-1", "events": [{"id": "nope", "type": "T"}]}}"#.utf8), code: "InvalidArgument", messageContains: "must be a UUID"),
        Case(description: "append with a bad stream", body: Array(#"{"append": {"stream": "has space", "events": [{"id": "6c0b6f3e-8c3a-4d7e-9a51-3f0e0d9f1a11", "type": "T"}]}}"#.utf8), code: "InvalidArgument", messageContains: "printable ASCII"),
        Case(description: "append with a bad expected version", body: Array(#"{"append": {"stream": "s-1", "expectedVersion": -3, "events": [{"id": "6c0b6f3e-8c3a-4d7e-9a51-3f0e0d9f1a11", "type": "T"}]}}"#.utf8), code: "InvalidArgument", messageContains: "expectedVersion"),
        Case(description: "event over the size limit", body: Array(#"{"append": {"stream": "s-1", "events": [{"id": "6c0b6f3e-8c3a-4d7e-9a51-3f0e0d9f1a11", "type": "T", "data": {"blob": "\#(String(repeating: "x", count: 70_000))"}}]}}"#.utf8), code: "TooLarge", messageContains: "more than the limit of 65536"),
        Case(description: "request over the size limit", body: Array(#"{"command": "X", "data": {"pad": "\#(String(repeating: "y", count: 1_100_000))"}}"#.utf8), code: "TooLarge", messageContains: "more than the limit of 1048576"),
        Case(description: "unknown query", body: Array(#"{"query": "everything"}"#.utf8), code: "UnknownQuery", messageContains: "everything"),
        Case(description: "deeply nested JSON", body: Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8), code: "Malformed", messageContains: "nesting deeper than 64"),
    ]

    @Test(arguments: cases)
    func badRequestGetsPreciseErrorAndNodeKeepsServing(_ badCase: Case) throws {
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        let reply = try harness.client.send(badCase.body)
        #expect(reply["ok"] == false)
        #expect(reply.errorCode == badCase.code)
        #expect(reply.errorMessage?.contains(badCase.messageContains) == true, "\(reply.errorMessage ?? "no message")")
        let good = try harness.registerUser("u1")
        #expect(good["position"] == 1, "nothing was written by the bad request and the node still serves")
    }

    @Test func wrongFrameCountAndEmptyFrameAreMalformed() throws {
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        let dealer = try DealerConnection(endpoint: harness.node.commandEndpoint)
        try dealer.socket.send([[], Array("{}".utf8), Array("{}".utf8)])
        let twoBodies = try dealer.receive()
        #expect(twoBodies.errorCode == "Malformed")
        #expect(twoBodies.errorMessage?.contains("exactly one body frame") == true)
        try dealer.socket.send([[], []])
        let empty = try dealer.receive()
        #expect(empty.errorCode == "Malformed")
        #expect(empty.errorMessage?.contains("empty") == true)
        #expect(try harness.registerUser("u1").isOK)
    }

    @Test func messageOverMaxMsgSizeDropsOnlyThatPeer() throws {
        let harness = try WriteNodeHarness(extraArguments: ["--max-request-bytes", "1024"])
        defer { harness.close() }
        // The hard limit is ZMQ_MAXMSGSIZE = 16 MiB: libzmq cuts the sender off without a reply.
        let hostile = try DealerConnection(endpoint: harness.node.commandEndpoint)
        try hostile.socket.send([[], [UInt8](repeating: 0x20, count: 17 << 20)])
        #expect(try hostile.receiveFrames(timeout: 500) == nil)
        #expect(try harness.registerUser("u1").isOK, "others are still served")
        let stillThere = try harness.client.send(["query": "stats"])
        #expect(stillThere["position"] == 1)
    }

    @Test func catchUpBeyondHeadAndBadCatchUpRequests() throws {
        let harness = try WriteNodeHarness()
        defer { harness.close() }
        _ = try harness.registerUser("u1")
        let reader = try WriteNodeClient(endpoint: harness.node.catchUpEndpoint)
        let beyond = try reader.send(["after": 50, "limit": 10])
        #expect(beyond.errorCode == "InvalidArgument")
        #expect(beyond.errorMessage == "after 50 is beyond the head position 1")
        #expect(try reader.send(["after": "zero"]).errorCode == "InvalidArgument")
        #expect(try reader.send(["after": 0, "limit": 1_000_000]).errorCode == "InvalidArgument")
        #expect(try reader.send(["after": 0, "colour": "red"]).errorCode == "InvalidArgument")
        #expect(try reader.send(Array("not json".utf8)).errorCode == "Malformed")
    }
}

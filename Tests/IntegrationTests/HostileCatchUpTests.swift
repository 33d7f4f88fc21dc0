import Foundation
import TestSupport
import Testing
import WireProtocol

/// The catch-up endpoint's binary format (`docs/PROTOCOL.md` § 4): it returns what the JSON
/// format returns, continuing reads inside one group see every event once, and a hostile or
/// malformed request gets a precise error while the endpoint keeps serving.
@Suite struct HostileCatchUpTests {
    /// A write node holding 2 users, 2 orders and then one group of 300 `note` events.
    static func harness() throws -> WriteNodeHarness {
        let harness = try WriteNodeHarness()
        for user in ["u1", "u2"] { #expect(try harness.registerUser(user).isOK) }
        #expect(try harness.placeOrder("o1", user: "u1").isOK)
        #expect(try harness.placeOrder("o2", user: "u2").isOK)
        let events: [JSONValue] = (0..<300).map { (index: Int) -> JSONValue in
            let type: JSONValue = index % 3 == 0 ? "Flagged" : "Noted"
            let data: JSONValue = ["index": .int(Int64(index)), "text": .string("note \(index) \u{e9}")]
            let metadata: JSONValue = index % 2 == 0 ? ["by": "test"] : .null
            return ["id": .string(UUID().uuidString), "type": type, "data": data, "metadata": metadata]
        }
        let append = try harness.client.send(["append": ["stream": "note-1", "expectedVersion": "noStream", "events": .array(events)]])
        #expect(append.isOK, "\(append)")
        return harness
    }

    /// One catch-up request over a DEALER: the summary and the frames after it.
    static func read(_ connection: DealerConnection, _ request: JSONValue) throws -> (summary: JSONValue, frames: [[UInt8]]) {
        try connection.send(request)
        guard var frames = try connection.receiveFrames(timeout: 5000) else { throw TestFailure("no catch-up reply within 5 s") }
        if frames.first?.isEmpty == true { frames.removeFirst() }
        return (try JSONParser.parse(frames[0]), Array(frames.dropFirst()))
    }

    static func binary(_ connection: DealerConnection, _ request: [String: JSONValue]) throws -> (summary: CatchUp.Summary, events: [RecordedEvent]) {
        var request = request
        request["format"] = "binary"
        let (summary, frames) = try read(connection, .object(request))
        let parsed = try CatchUp.Summary(body: summary.jsonBytes)
        try #require(frames.count == 1, "a binary reply is [summary, records]: \(summary)")
        return (parsed, try CatchUp.decodeRecords(frames[0], count: parsed.count))
    }

    @Test(arguments: [
        [:],
        ["categories": ["order"]],
        ["categories": ["note"], "types": ["Flagged"]],
        ["types": ["UserRegistered", "Noted"]],
        ["categories": ["nothing"]],
    ] as [[String: JSONValue]])
    func binaryRepliesHoldWhatJSONRepliesHold(filter: [String: JSONValue]) throws {
        let harness = try Self.harness()
        defer { harness.close() }
        let connection = try DealerConnection(endpoint: harness.node.catchUpEndpoint)
        var request = filter
        request["after"] = 1
        let (summary, bodies) = try Self.read(connection, .object(request))
        let jsonEvents = try bodies.map { try EventFrames.decodeBody($0) }
        let binary = try Self.binary(connection, request)
        #expect(binary.events == jsonEvents)
        #expect(binary.summary == (try CatchUp.Summary(body: summary.jsonBytes)))
        #expect(binary.events.allSatisfy { $0.position > 1 })
        #expect(binary.summary.scannedTo == binary.summary.head)
    }

    /// Small limits cut the 300-event group again and again: each read continues where the last
    /// stopped, every event comes once and in order, and `scannedTo` says where to go on.
    @Test(arguments: [1, 7, 64])
    func continuingReadsInsideOneGroupSeeEveryEventOnce(limit: Int) throws {
        let harness = try Self.harness()
        defer { harness.close() }
        let connection = try DealerConnection(endpoint: harness.node.catchUpEndpoint)
        for filter in [[:], ["categories": ["note"], "types": ["Flagged"]]] as [[String: JSONValue]] {
            var after: Int64 = 0
            var seen: [RecordedEvent] = []
            var rounds = 0
            while true {
                var request = filter
                request["after"] = .int(after)
                request["limit"] = .int(Int64(limit))
                let (summary, events) = try Self.binary(connection, request)
                #expect(events.count <= limit)
                seen += events
                after = summary.scannedTo
                rounds += 1
                if summary.scannedTo >= summary.head { break }
                try #require(rounds < 1000, "the reads do not advance")
            }
            let everything = try Self.binary(connection, filter.merging(["after": 0]) { $1 }).events
            #expect(seen == everything)
            #expect(seen.map(\.position) == seen.map(\.position).sorted())
            #expect(Set(seen.map(\.position)).count == seen.count)
        }
    }

    struct Case: CustomStringConvertible, Sendable {
        var description: String
        var body: [UInt8]
        var code: String
        var message: String
    }

    static let cases: [Case] = [
        Case(description: "unknown format", body: Array(#"{"after": 0, "format": "xml"}"#.utf8), code: "InvalidArgument",
             message: #"format must be one of "json", "binary", got "xml""#),
        Case(description: "format not a string", body: Array(#"{"after": 0, "format": 7}"#.utf8), code: "InvalidArgument",
             message: #"format must be one of "json", "binary", got 7"#),
        Case(description: "format on a stream read", body: Array(#"{"stream": "note-1", "format": "binary"}"#.utf8), code: "InvalidArgument",
             message: "unknown field 'format' in stream read request"),
        Case(description: "negative after", body: Array(#"{"after": -1, "format": "binary"}"#.utf8), code: "InvalidArgument",
             message: "after must be 0 or more, got -1"),
        Case(description: "zero limit", body: Array(#"{"after": 0, "limit": 0, "format": "binary"}"#.utf8), code: "InvalidArgument",
             message: "limit must be between 1 and 10000, got 0"),
        Case(description: "huge limit", body: Array(#"{"after": 0, "limit": 99999999999999999, "format": "binary"}"#.utf8), code: "InvalidArgument",
             message: "limit must be between 1 and 10000, got 99999999999999999"),
        Case(description: "after beyond the head", body: Array(#"{"after": 9999, "format": "binary"}"#.utf8), code: "InvalidArgument",
             message: "after 9999 is beyond the head position 304"),
        Case(description: "categories not an array", body: Array(#"{"after": 0, "categories": "order", "format": "binary"}"#.utf8), code: "InvalidArgument",
             message: "categories must be an array of strings, got a string"),
        Case(description: "empty type", body: Array(#"{"after": 0, "types": [""], "format": "binary"}"#.utf8), code: "InvalidArgument",
             message: "types must hold non-empty strings, got a string"),
        Case(description: "not an object", body: Array(#"["after", 0]"#.utf8), code: "Malformed",
             message: "catch-up request must be a JSON object, got an array"),
        Case(description: "binary garbage", body: [0xFF, 0x00, 0x7B, 0x22], code: "Malformed", message: "invalid JSON at byte 0"),
        Case(description: "empty body", body: [], code: "Malformed", message: "request body frame is empty"),
    ]

    @Test func hostileRequestsGetPreciseErrorsAndTheEndpointKeepsServing() throws {
        let harness = try Self.harness()
        defer { harness.close() }
        let connection = try DealerConnection(endpoint: harness.node.catchUpEndpoint)
        for badCase in Self.cases {
            try connection.socket.send([[], badCase.body])
            let frames = try #require(try connection.receiveFrames(timeout: 5000), "\(badCase): no reply")
            #expect(frames.count == 2, "\(badCase): an error reply is one frame after the delimiter")
            let reply = try JSONParser.parse(frames.last ?? [])
            #expect(reply.errorCode == badCase.code, "\(badCase): \(reply)")
            #expect(reply.errorMessage?.hasPrefix(badCase.message) == true, "\(badCase): \(reply)")
            // The next good request on the same connection is answered.
            let good = try Self.binary(connection, ["after": 299])
            #expect(good.events.map(\.position) == [300, 301, 302, 303, 304], "after \(badCase)")
        }
    }
}

import Foundation
import TestSupport
import Testing
import WireProtocol

/// Every projector's query endpoint meets bad input with a precise error and keeps serving.
@Suite struct ProjectorBadInputTests {
    static let sampleQuery: [String: (name: String, badParams: JSONValue, absurd: JSONValue)] = [
        "orders": ("ordersByStatus", ["status": 7], ["status": "paid", "limit": 1_000_000]),
        "search": ("search", ["text": ["not", "text"]], ["text": "shoes", "limit": 1_000_000]),
        "status": ("userOrders", ["userId": 12], ["userId": "u", "limit": 1_000_000]),
        "history": ("monthly", ["userId": "u", "from": 2026, "to": "2026-02"], ["userId": "u", "from": "1900-01", "to": "2026-01"]),
    ]

    @Test(arguments: SystemHarness.allProjectors)
    func badQueriesGetPreciseErrors(_ name: String) throws {
        let system = try SystemHarness(projectors: [name])
        defer { system.close() }
        let client = system.queryClients[name]!
        let sample = Self.sampleQuery[name]!
        func expectError(_ body: [UInt8], _ code: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let reply = try client.send(body)
            #expect(reply["error"]?["code"] == .string(code), "\(reply)", sourceLocation: sourceLocation)
            #expect(reply["error"]?["message"]?.stringValue?.contains(fragment) == true, "\(reply)", sourceLocation: sourceLocation)
        }
        try expectError(Array("{not json".utf8), "Malformed", "invalid JSON")
        try expectError(Array("[]".utf8), "Malformed", "must be a JSON object")
        try expectError(Array(#"{"query": "nope"}"#.utf8), "UnknownQuery", "nope")
        try expectError(JSONValue.object(["query": .string(sample.name), "params": sample.badParams]).jsonBytes, "InvalidArgument", "params.")
        try expectError(JSONValue.object(["query": .string(sample.name), "params": sample.absurd]).jsonBytes, "InvalidArgument", "params.")
        try expectError(Array(#"{"query": "health", "minPosition": 5, "timeoutMs": 999999999}"#.utf8), "InvalidArgument", "timeoutMs must be")
        try expectError(Array(#"{"query": "health", "minPosition": -1}"#.utf8), "InvalidArgument", "minPosition")
        try expectError(Array(#"{"query": "health", "colour": "red"}"#.utf8), "InvalidArgument", "unknown field 'colour'")
        try expectError(Array(#"{"query": "health", "params": 3}"#.utf8), "InvalidArgument", "params must be an object")
        try expectError(Array(("{\"query\": \"health\", \"pad\": \"" + String(repeating: "x", count: 70_000) + "\"}").utf8), "TooLarge", "bytes")
        #expect(try client.query("health")["ok"] == true, "still serving")
    }
}

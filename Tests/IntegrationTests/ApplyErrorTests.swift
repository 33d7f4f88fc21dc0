import Foundation
import TestSupport
import Testing
import WireProtocol

/// A projection that throws on an event stops there and keeps serving; a failing store is retried.
@Suite struct ApplyErrorTests {
    /// Appends events of `types` to one stream in one request; returns the last one's position.
    private func append(_ client: WriteNodeClient, _ types: [String]) throws -> Int64 {
        let events: [JSONValue] = types.map { ["id": .string(UUID().uuidString.lowercased()), "type": .string($0), "data": [:]] }
        let reply = try client.send(["append": ["stream": "note-1", "expectedVersion": "any", "events": .array(events)]])
        guard reply["ok"] == .bool(true), let position = reply["position"]?.intValue else { throw TestFailure("append failed: \(reply)") }
        return position
    }

    private func health(_ client: QueryClient) throws -> JSONValue {
        try client.query("health")["result"] ?? .null
    }

    private func waitForHealth(_ client: QueryClient, _ condition: (JSONValue) -> Bool) throws -> JSONValue {
        var last: JSONValue = .null
        let met = waitUntil(timeout: .seconds(30)) {
            last = (try? self.health(client)) ?? .null
            return condition(last)
        }
        guard met else { throw TestFailure("health never met the condition; last: \(last)") }
        return last
    }

    @Test func projectionErrorStopsAtTheEventUntilSkipped() throws {
        try withTemporaryDirectory { path in
        let directory = URL(fileURLWithPath: path)
        let writeNode = WriteNodeProcess(workDirectory: directory)
        try writeNode.start()
        defer { _ = writeNode.stop() }
        let projector = ProjectorProcess("faulty", writeNode: writeNode, workDirectory: directory)
        try projector.start()
        defer { _ = projector.stop() }
        let writer = try WriteNodeClient(endpoint: writeNode.commandEndpoint)
        let queries = try QueryClient(endpoint: projector.queryEndpoint)

        let head = try append(writer, ["Note", "Note", "Note", "Poison", "Note", "Note"])
        let poison = head - 2
        let failed = try waitForHealth(queries) { $0["status"] == "failed" }
        #expect(failed["failure"]?["position"]?.intValue == poison)
        #expect(failed["failure"]?["type"] == "Poison")
        #expect(failed["failure"]?["error"]?.stringValue?.contains("deliberate fault") == true)
        #expect(failed["applied"]?.intValue == poison - 1, "everything before the culprit committed, nothing after it")
        #expect(projector.process?.isRunning == true)
        #expect(try queries.query("count")["result"] == .int(3), "queries answered from the last good state")

        let wrong = try queries.query("skip", ["position": .int(poison + 1)])
        #expect(wrong["error"]?["code"] == "InvalidArgument")
        let skipped = try queries.query("skip", ["position": .int(poison)])
        #expect(skipped["ok"] == .bool(true), "\(skipped)")
        try queries.waitForPosition(head)
        #expect(try queries.query("count")["result"] == .int(5))
        let record = try String(contentsOf: projector.dataDirectory.appendingPathComponent("skipped.jsonl"), encoding: .utf8)
        let entry = try JSONParser.parse(Array(record.split(separator: "\n")[0].utf8))
        #expect(entry["position"]?.intValue == poison && entry["type"] == "Poison")
        #expect(try health(queries)["status"] == "live")

        // A restart leaves the skipped event out again and goes on from the checkpoint.
        #expect(projector.stop() == 0)
        try projector.start()
        let more = try append(writer, ["Note"])
        try queries.waitForPosition(more)
        #expect(try queries.query("count")["result"] == .int(6))
        }
    }

    @Test func aFixedBuildResumesAtTheFailedEvent() throws {
        try withTemporaryDirectory { path in
        let directory = URL(fileURLWithPath: path)
        let writeNode = WriteNodeProcess(workDirectory: directory)
        try writeNode.start()
        defer { _ = writeNode.stop() }
        let faulty = ProjectorProcess("faulty", writeNode: writeNode, workDirectory: directory)
        try faulty.start()
        let writer = try WriteNodeClient(endpoint: writeNode.commandEndpoint)
        let head = try append(writer, ["Note", "Poison", "Note"])
        _ = try waitForHealth(try QueryClient(endpoint: faulty.queryEndpoint)) { $0["status"] == "failed" }
        #expect(faulty.stop() == 0)

        let fixed = ProjectorProcess("faulty", writeNode: writeNode, workDirectory: directory, extraArguments: ["--fail-on-type", "none"])
        try fixed.start()
        defer { _ = fixed.stop() }
        let queries = try QueryClient(endpoint: fixed.queryEndpoint)
        try queries.waitForPosition(head)
        #expect(try queries.query("count")["result"] == .int(3))
        }
    }

    @Test func storeErrorsAreRetriedWithBackoff() throws {
        try withTemporaryDirectory { path in
        let directory = URL(fileURLWithPath: path)
        let writeNode = WriteNodeProcess(workDirectory: directory)
        try writeNode.start()
        defer { _ = writeNode.stop() }
        let projector = ProjectorProcess("faulty", writeNode: writeNode, workDirectory: directory, extraArguments: ["--store-failures", "10"])
        try projector.start()
        defer { _ = projector.stop() }
        let writer = try WriteNodeClient(endpoint: writeNode.commandEndpoint)
        let queries = try QueryClient(endpoint: projector.queryEndpoint)
        let head = try append(writer, ["Note", "Note"])
        // Ten failures back off 10, 20 … 2560 ms: about five seconds of `retrying`.
        let retrying = try waitForHealth(queries) { $0["status"] == "retrying" }
        #expect(retrying["storeError"]?.stringValue?.contains("disk is full") == true, "\(retrying)")
        #expect(try queries.query("count")["ok"] == .bool(true), "queries answered while the store is retried")
        try queries.waitForPosition(head, timeout: 60)
        #expect(try queries.query("count")["result"] == .int(2))
        let stats = try queries.query("stats")["result"]
        #expect(stats?["storeFailures"]?.intValue == 10)
        #expect(try health(queries)["status"] == "live")
        }
    }
}

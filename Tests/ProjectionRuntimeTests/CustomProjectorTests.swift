import Foundation
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

/// The "write your own projector" guide, run for real: its example projection is hosted by a
/// `Projector` in this process, fed by a real write node, and queried over ZeroMQ.
@Suite struct CustomProjectorTests {
    @Test func exampleProjectionCountsEventsWithReadYourWrites() throws {
        try withProjectorFedByAWriteNode(name: "counts", makeProjection: { try EventCountProjection(directory: $0) }) { writeNode, projector in
            let client = try WriteNodeClient(endpoint: writeNode.commandEndpoint)
            _ = try client.command("RegisterUser", ["userId": "u1", "name": "Ada", "state": "Ohio"])
            let position = try client.command("RegisterUser", ["userId": "u2", "name": "Bob", "state": "Utah"])["position"]!.intValue!
            let queries = try QueryClient(endpoint: projector.queryEndpoint)
            let reply = try queries.query("count", ["type": "UserRegistered"], minPosition: position, waitMs: 5000)
            #expect(reply["result"]?["count"] == 2)
            #expect(reply["position"]?.intValue ?? 0 >= position)
            #expect(try queries.query("count", [:])["error"]?["code"] == "InvalidArgument")
        }
    }

    @Test func guideShowsTheExampleVerbatim() throws {
        let root = ManagedProcess.packageRoot
        let guide = try String(contentsOf: root.appendingPathComponent("docs/PROJECTORS.md"), encoding: .utf8)
        let example = try String(contentsOf: root.appendingPathComponent("Tests/ProjectionRuntimeTests/EventCountProjection.swift"), encoding: .utf8)
        #expect(guide.contains(example.trimmingCharacters(in: .whitespacesAndNewlines)),
                "docs/PROJECTORS.md must quote Tests/ProjectionRuntimeTests/EventCountProjection.swift exactly")
    }
}

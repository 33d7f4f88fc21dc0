import EventStore
import Foundation
import TestSupport
import Testing
import WireProtocol

/// The catch-up endpoint of a write node in this process: log reads after a position (limited,
/// filtered), stream reads, and the errors of a read it cannot serve.
@Suite struct CatchUpServerTests {
    /// Sends one catch-up request and returns the summary and events of the reply, or its error.
    func read(_ request: JSONValue, from node: InProcessWriteNode) throws -> Result<(CatchUp.Summary, [RecordedEvent]), WireError> {
        let dealer = try DealerConnection(endpoint: node.catchUpEndpoint)
        try dealer.send(request)
        guard let frames = try dealer.receiveFrames(timeout: 5000), frames.count >= 2 else { throw TestFailure("no catch-up reply") }
        do {
            let summary = try CatchUp.Summary(body: frames[1])
            return .success((summary, try frames.dropFirst(2).map { try EventFrames.decodeBody($0) }))
        } catch let error as WireError {
            return .failure(error)
        }
    }

    func withNode(_ body: (InProcessWriteNode, [(id: UUID, position: Int64)]) throws -> Void) throws {
        try withTemporaryDirectory("prism-catch-up") { directory in
            let node = try InProcessWriteNode(dataDirectory: directory)
            defer { node.stop() }
            // Positions 1…10: order-1 (4), user-1 (3), order-2 (3).
            let appended = try node.append(stream: "order-1", count: 4, type: "Placed")
                + node.append(stream: "user-1", count: 3, type: "Registered")
                + node.append(stream: "order-2", count: 3, type: "Placed")
            try body(node, appended)
        }
    }

    @Test func logReadAnswersTheEventsAfterAPositionUpToTheLimit() throws {
        try withNode { node, appended in
            let (summary, events) = try read(CatchUp.Request(after: 2, limit: 5).json, from: node).get()
            #expect(events.map(\.position) == Array(3...7))
            #expect(events.map(\.id) == appended[2..<7].map(\.id))
            // Cut by the limit: scanned only to the last event sent.
            #expect(summary == CatchUp.Summary(head: 10, count: 5, scannedTo: 7))
            let (rest, tail) = try read(CatchUp.Request(after: 7, limit: 5).json, from: node).get()
            #expect(tail.map(\.position) == [8, 9, 10])
            #expect(rest == CatchUp.Summary(head: 10, count: 3, scannedTo: 10))
        }
    }

    @Test func filteredReadHasScannedToTheHead() throws {
        try withNode { node, _ in
            let request = CatchUp.Request(after: 0, limit: 100, filter: EventFilter(categories: ["user"]))
            let (summary, events) = try read(request.json, from: node).get()
            #expect(events.map(\.position) == [5, 6, 7])
            #expect(events.allSatisfy { $0.stream == "user-1" && $0.type == "Registered" })
            #expect(summary == CatchUp.Summary(head: 10, count: 3, scannedTo: 10))
        }
    }

    @Test func streamReadAnswersOneStreamFromAVersion() throws {
        try withNode { node, _ in
            let (_, events) = try read(["stream": "order-2", "fromVersion": 1, "limit": 10], from: node).get()
            #expect(events.map(\.position) == [9, 10])
            #expect(events.map(\.version) == [1, 2])
        }
    }

    @Test func readBeyondTheHeadIsAnInvalidArgument() throws {
        try withNode { node, _ in
            let result = try read(CatchUp.Request(after: 11, limit: 10).json, from: node)
            #expect(throws: WireError(.invalidArgument, "after 11 is beyond the head position 10")) { try result.get() }
        }
    }
}

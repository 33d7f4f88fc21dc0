import Foundation
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

/// Queries that ask for a position the projector has not applied: `timeoutMs: 0` is answered
/// `Stale` at once, past the waiting-query limit `Unavailable`, and `stats` counts the `Stale`s.
///
/// No write node listens at the feed's endpoints, so the projector stays at position 0 and every
/// `minPosition` above it waits.
@Suite struct QueryWaitTests {
    func withUnfedProjector(maxWaitingQueries: Int = 10_000, _ body: (RunningProjector) throws -> Void) throws {
        try withTemporaryDirectory("prism-query-wait") { directory in
            var configuration = ProjectorConfiguration(
                name: "counts", queryEndpoint: "tcp://127.0.0.1:*", dataDirectory: directory + "/counts")
            configuration.publishEndpoint = freeTCPEndpoint()
            configuration.catchUpEndpoint = freeTCPEndpoint()
            configuration.maxWaitingQueries = maxWaitingQueries
            let projector = try RunningProjector(
                configuration: configuration, makeProjection: { try EventCountProjection(directory: $0) })
            defer { projector.stop() }
            try body(projector)
        }
    }

    func staleAnswers(_ queries: QueryClient) throws -> JSONValue? {
        try queries.query("stats")["result"]?["staleAnswers"]
    }

    @Test func zeroTimeoutIsStaleAtOnceAndCounted() throws {
        try withUnfedProjector { projector in
            let queries = try QueryClient(endpoint: projector.queryEndpoint)
            #expect(try staleAnswers(queries) == 0)
            let reply = try queries.query("health", minPosition: 5, waitMs: 0)
            #expect(reply["error"]?["code"] == "Stale")
            #expect(reply["error"]?["message"] == "counts has applied position 0, not yet 5, after waiting 0 ms")
            // A position already applied is answered, not stale, whatever the timeout.
            #expect(try queries.query("health", minPosition: 0, waitMs: 0)["ok"] == true)
            #expect(try staleAnswers(queries) == 1)
        }
    }

    @Test func queriesPastTheWaitingLimitAreUnavailableAndTheWaitingOnesGoStale() throws {
        try withUnfedProjector(maxWaitingQueries: 2) { projector in
            // One connection keeps the three requests in order: two wait, the third is refused.
            let dealer = try DealerConnection(endpoint: projector.queryEndpoint)
            for _ in 0..<3 {
                try dealer.send(["query": "health", "minPosition": 7, "timeoutMs": 2000])
            }
            let refused = try dealer.receive()
            #expect(refused["error"]?["code"] == "Unavailable")
            #expect(refused["error"]?["message"] == "2 queries are already waiting for positions; try again later")
            let queries = try QueryClient(endpoint: projector.queryEndpoint)
            let stats = try queries.query("stats")["result"]
            #expect(stats?["waitingQueries"] == 2)
            #expect(stats?["staleAnswers"] == 0)
            // The two waiting ones time out as Stale, and are counted.
            #expect(try dealer.receive()["error"]?["code"] == "Stale")
            #expect(try dealer.receive()["error"]?["code"] == "Stale")
            #expect(try staleAnswers(queries) == 2)
            #expect(try queries.query("stats")["result"]?["waitingQueries"] == 0)
        }
    }
}

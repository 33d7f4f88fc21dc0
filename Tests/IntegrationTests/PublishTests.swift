import Foundation
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// What the write node's PUB socket carries, seen by a raw subscriber (as a pyzmq client would).
@Suite struct PublishTests {
    /// A retried append (same event ids) that lands in the same batch as the original must be
    /// answered with the original positions and published once, not twice.
    @Test func retryInTheSameBatchIsPublishedOnce() throws {
        let harness = try WriteNodeHarness(extraArguments: ["--heartbeat-ms", "50"])
        defer { harness.close() }
        let context = try Context()
        let subscriber = try makeTestSocket(context, .sub, receiveTimeout: 2000)
        defer { subscriber.close(linger: 0) }
        try subscriber.subscribe("")
        try subscriber.connect(harness.node.publishEndpoint)
        // Subscribed once a heartbeat arrives.
        #expect(waitUntil(timeout: .seconds(10)) { (try? subscriber.receive(dontWait: true))??.first == Array(utf8: "h") })

        let dealer = try DealerConnection(endpoint: harness.node.commandEndpoint)
        let rounds = 20
        for round in 0..<rounds {
            let ids = (0..<3).map { _ in UUID() }
            let request = AppendLoad.appendRequest(stream: "retry-\(round)", ids: ids)
            // Pipelined: the original and its retries reach the sequencer together.
            for _ in 0..<4 { try dealer.send(request) }
            let replies = try (0..<4).map { _ in try dealer.receive() }
            let expected = (Int64(round) * 3 + 1...Int64(round) * 3 + 3).map { JSONValue.int($0) }
            for reply in replies {
                #expect(reply.isOK)
                #expect(reply["events"]?.arrayValue?.compactMap { $0["position"] } == expected)
            }
        }
        let head = Int64(rounds * 3)

        var published: [Int64] = []
        var sawFinalHeartbeat = false
        // Events come before the heartbeat that announces them, on the one PUB socket.
        while !sawFinalHeartbeat, let frames = try subscriber.receive() {
            guard frames.count == 3, let header = EventFrames.Header(bytes: frames[1]) else { continue }
            if frames[0] == Array(utf8: "h") {
                sawFinalHeartbeat = (try? EventFrames.Heartbeat(body: frames[2]))?.head == head
            } else {
                published.append(header.position)
            }
        }
        #expect(sawFinalHeartbeat)
        let duplicates = Dictionary(grouping: published, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(duplicates.isEmpty, "positions published more than once: \(duplicates.prefix(10))")
        #expect(published.count == Int(head), "published \(published.count) events for a head of \(head)")
        #expect(Set(published) == Set(1...head), "every committed position is published")

        let stats = try harness.client.send(["query": "stats"])
        #expect(stats["result"]?["eventsAppended"]?.intValue == head, "stats: \(stats)")
    }
}

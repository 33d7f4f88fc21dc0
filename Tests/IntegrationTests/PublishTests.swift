import Foundation
import Subscription
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
        var attempt = 0
        for round in 0..<rounds {
            // The original and its retries reach the sequencer together, in one batch.
            let replies = try harness.sendTogether(on: dealer) {
                attempt += 1
                let request = appendRequest(stream: "retry-\(attempt)", ids: (0..<3).map { _ in UUID() })
                return Array(repeating: request, count: 4)
            }
            let positions = replies[0]["events"]?.arrayValue?.compactMap { $0["position"]?.intValue } ?? []
            #expect(positions.count == 3 && positions == Array(positions[0]...positions[0] + 2), "round \(round): \(replies[0])")
            for reply in replies {
                #expect(reply.isOK)
                #expect(reply["events"]?.arrayValue?.compactMap { $0["position"]?.intValue } == positions, "a retry got other positions")
            }
        }
        let head = try #require(try harness.client.send(["query": "stats"])["result"]?["head"]?.intValue)

        var published: [Int64] = []
        var sawFinalHeartbeat = false
        // Events come before the heartbeat that announces them, on the one PUB socket.
        while !sawFinalHeartbeat, let frames = try subscriber.receive() {
            guard frames.count == 3, let header = EventFrames.Header(bytes: frames[1]) else { continue }
            if frames[0] == Array(utf8: "h") {
                sawFinalHeartbeat = (try? EventFrames.Heartbeat(body: frames[2]))?.head == head
            } else {
                published.append(header.position)
                // Stamped before the sync and after it returned.
                let syncedAt = try EventFrames.decodePublishedBody(frames[2]).syncedAt
                #expect(syncedAt >= header.recordedAt, "event \(header.position): synced before it was recorded")
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

    /// The same republish moves the category head backwards, so the next event of the category
    /// carries a stale `previousInCategory` and a category feed that lost events does not notice.
    /// (The relay drops B's events, of type `Lost`.)
    @Test func retryInTheSameBatchDoesNotHideLossFromACategoryFeed() throws {
        let harness = try WriteNodeHarness(extraArguments: ["--heartbeat-ms", "50"])
        defer { harness.close() }
        // Per round: A (3 events), B (3), A again, then C (3). The relay loses B's events on
        // their way to the feed.
        let proxy = try LossyPublishProxy(upstream: harness.node.publishEndpoint) { topic, _ in
            topic == Array(utf8: "e:retry:Lost")
        }
        defer { proxy.close() }
        #expect(waitUntil(timeout: .seconds(10)) { proxy.heartbeats > 0 }, "relay never heard the node")
        let context = try Context()
        var configuration = EventFeed.Configuration(
            publishEndpoint: proxy.publishEndpoint, catchUpEndpoint: harness.node.catchUpEndpoint, category: "retry")
        configuration.silenceTimeoutMs = 60_000
        let feed = try EventFeed(context: context, configuration: configuration, after: 0)
        let follower = FeedFollower(feed: feed)
        #expect(waitUntil(timeout: .seconds(10)) { follower.snapshot.polls > 0 && !follower.snapshot.catchingUp && follower.snapshot.lastError == nil })
        // The feed hears live events: wait until it has heard a heartbeat through the relay.
        #expect(waitUntil(timeout: .seconds(10)) { proxy.heartbeats > 5 })

        let dealer = try DealerConnection(endpoint: harness.node.commandEndpoint)
        let rounds = 5
        var attempt = 0
        var head: Int64 = 0
        for round in 0..<rounds {
            let replies = try harness.sendTogether(on: dealer) {
                attempt += 1
                let a = appendRequest(stream: "retry-a\(attempt)", ids: (0..<3).map { _ in UUID() })
                let b = appendRequest(stream: "retry-b\(attempt)", ids: (0..<3).map { _ in UUID() }, type: "Lost")
                return [a, b, a]
            }
            let afterB = try #require(replies[1]["position"]?.intValue, "round \(round): \(replies)")
            try dealer.send(appendRequest(stream: "retry-c\(round)", ids: (0..<3).map { _ in UUID() }))
            head = try #require(try dealer.receive()["position"]?.intValue)
            #expect(head == afterB + 3)
        }
        #expect(follower.waitForPosition(head, timeout: .seconds(10)), "feed stuck at \(follower.snapshot.position)")
        let snapshot = follower.stop()
        let delivered = snapshot.events.map(\.position)
        let missing = Set(1...head).subtracting(delivered).sorted()
        #expect(missing.isEmpty, "the category feed reached \(snapshot.position) but never delivered \(missing)")
    }
}

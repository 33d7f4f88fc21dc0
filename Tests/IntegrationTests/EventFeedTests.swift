import EventStore
import Foundation
import Subscription
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// `EventFeed` in this process against a real write-node process: every position once, in order,
/// whatever PUB/SUB loses.
@Suite struct EventFeedTests {
    /// A running write node in a temporary directory, and what a feed test needs around it.
    final class Fixture {
        let directory: URL
        let node: WriteNodeProcess
        let writer: EventWriter
        let context: Context

        init(heartbeatMs: Int = 100) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("prism-feed-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            node = WriteNodeProcess(workDirectory: directory, extraArguments: ["--heartbeat-ms", "\(heartbeatMs)"])
            try node.start()
            writer = try EventWriter(endpoint: node.commandEndpoint)
            context = try Context()
        }

        deinit {
            node.kill()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test func feedFromZeroSeesEveryPositionOnceInOrderDuringAppends() throws {
        let fixture = try Fixture()
        let feed = try EventFeed(context: fixture.context, configuration: .init(node: fixture.node), after: 0)
        let follower = FeedFollower(feed: feed, limit: 300)
        fixture.writer.inBackground { writer in
            for index in 0..<200 { try writer.append(stream: "note-\(index % 17)", count: 10) }
        }
        #expect(fixture.writer.wait(), "appends did not finish")
        #expect(fixture.writer.error == nil, "\(fixture.writer.error ?? "")")
        #expect(follower.waitForPosition(2000), "feed stuck at \(follower.snapshot.position): \(follower.snapshot)")
        let snapshot = follower.stop()
        #expect(snapshot.thrown == nil)
        expectDelivered(snapshot.events, positions: positions(1...2000), writer: fixture.writer)
    }

    /// A slow consumer with a SUB high-water mark of one, behind a relay that really drops every
    /// 50th event: libzmq alone applies back-pressure on a SUB's queue rather than dropping, so
    /// the loss is made by the relay, and the repair must still deliver each position once.
    @Test func slowConsumerBehindALossyLinkGetsEveryEventOnce() throws {
        let fixture = try Fixture(heartbeatMs: 50)
        let total: Int64 = 5000
        let proxy = try LossyPublishProxy(upstream: fixture.node.publishEndpoint) { header in header.position % 50 == 0 }
        defer { proxy.close() }
        #expect(waitUntil(timeout: .seconds(10)) { proxy.heartbeats > 0 }, "relay never heard the node")
        var configuration = EventFeed.Configuration(node: fixture.node)
        configuration.publishEndpoint = proxy.publishEndpoint
        configuration.receiveHighWaterMark = 1
        let feed = try EventFeed(context: fixture.context, configuration: configuration, after: 0)
        let follower = FeedFollower(feed: feed, limit: 25, pause: .milliseconds(2))
        fixture.writer.inBackground { writer in
            for index in 0..<50 { try writer.append(stream: "bulk-\(index)", count: 100) }
        }
        #expect(fixture.writer.wait(), "appends did not finish")
        #expect(fixture.writer.error == nil, "\(fixture.writer.error ?? "")")
        #expect(follower.waitForPosition(total, timeout: .seconds(60)), "feed stuck at \(follower.snapshot.position)")
        let snapshot = follower.stop()
        expectDelivered(snapshot.events, positions: positions(1...total), writer: fixture.writer)
        #expect(proxy.dropped > 0)
        #expect(snapshot.gapsRepaired > 0)
    }

    /// Deterministic loss: a relay drops every 7th event and the very last one.
    @Test func lossyLinkIsRepairedThroughCatchUp() throws {
        let fixture = try Fixture(heartbeatMs: 50)
        let total: Int64 = 5000
        let proxy = try LossyPublishProxy(upstream: fixture.node.publishEndpoint) { header in
            header.position % 7 == 0 || header.position == total
        }
        defer { proxy.close() }
        #expect(waitUntil(timeout: .seconds(10)) { proxy.heartbeats > 0 }, "relay never heard the node")
        var configuration = EventFeed.Configuration(node: fixture.node)
        configuration.publishEndpoint = proxy.publishEndpoint
        let feed = try EventFeed(context: fixture.context, configuration: configuration, after: 0)
        let follower = FeedFollower(feed: feed, limit: 100)
        fixture.writer.inBackground { writer in
            for index in 0..<50 { try writer.append(stream: "lossy-\(index)", count: 100) }
        }
        #expect(fixture.writer.wait(), "appends did not finish")
        #expect(follower.waitForPosition(total), "feed stuck at \(follower.snapshot.position)")
        let snapshot = follower.stop()
        expectDelivered(snapshot.events, positions: positions(1...total), writer: fixture.writer)
        #expect(proxy.dropped > 0)
        #expect(snapshot.gapsRepaired > 0)
    }

    /// Every live event is lost; only the heartbeat's head tells the feed there is something to fetch.
    @Test(arguments: [nil, "order"] as [String?])
    func heartbeatRevealsEventsThatNeverArrivedLive(category: String?) throws {
        let fixture = try Fixture(heartbeatMs: 50)
        let proxy = try LossyPublishProxy(upstream: fixture.node.publishEndpoint) { _ in true }
        defer { proxy.close() }
        #expect(waitUntil(timeout: .seconds(10)) { proxy.heartbeats > 0 }, "relay never heard the node")
        var configuration = EventFeed.Configuration(node: fixture.node, category: category)
        configuration.publishEndpoint = proxy.publishEndpoint
        let feed = try EventFeed(context: fixture.context, configuration: configuration, after: 0)
        let follower = FeedFollower(feed: feed)
        // Let the first catch-up (of an empty log) finish, so the events below can only come via a gap.
        #expect(waitUntil(timeout: .seconds(10)) { follower.snapshot.polls > 0 && !follower.snapshot.catchingUp && follower.snapshot.lastError == nil })
        try fixture.writer.append(stream: "order-o-1", count: 2)
        try fixture.writer.append(stream: "user-u-1", count: 1)
        let last = try fixture.writer.append(stream: "order-o-2", count: 1)
        #expect(follower.waitForPosition(last, timeout: .seconds(10)), "feed stuck at \(follower.snapshot.position)")
        let snapshot = follower.stop()
        expectDelivered(snapshot.events, positions: category == nil ? [1, 2, 3, 4] : [1, 2, 4], writer: fixture.writer)
        #expect(proxy.forwarded == 0 && proxy.dropped == 4)
        #expect(snapshot.gapsRepaired > 0)
    }

    @Test func feedCreatedAfterTheAppendsCatchesUpToTheHead() throws {
        let fixture = try Fixture(heartbeatMs: 50)
        for index in 0..<30 { try fixture.writer.append(stream: "early-\(index)", count: 3) }
        let feed = try EventFeed(context: fixture.context, configuration: .init(node: fixture.node), after: 0)
        let follower = FeedFollower(feed: feed)
        #expect(follower.waitForPosition(90, timeout: .seconds(10)))
        let snapshot = follower.stop()
        expectDelivered(snapshot.events, positions: positions(1...90), writer: fixture.writer)
    }

    @Test func categoryFeedSeesExactlyItsCategoryInOrder() throws {
        let fixture = try Fixture()
        let feed = try EventFeed(context: fixture.context, configuration: .init(node: fixture.node, category: "order"), after: 0)
        let follower = FeedFollower(feed: feed, limit: 50)
        fixture.writer.inBackground { writer in
            for index in 0..<150 {
                try writer.append(stream: "user-u\(index)", count: 1 + index % 3)
                try writer.append(stream: "order-o\(index)", count: 1 + index % 2)
                // `orders-…` is another category: a prefix match on the topic must not let it in.
                if index % 10 == 0 { try writer.append(stream: "orders-x\(index)", count: 1) }
            }
            try writer.append(stream: "order-last", count: 1)
        }
        #expect(fixture.writer.wait(), "appends did not finish")
        #expect(fixture.writer.error == nil, "\(fixture.writer.error ?? "")")
        let acknowledged = fixture.writer.acknowledged
        let head = acknowledged.keys.max() ?? 0
        #expect(follower.waitForPosition(head), "feed stuck at \(follower.snapshot.position), head \(head)")
        let snapshot = follower.stop()
        let orderPositions = acknowledged.filter { $0.value.stream.hasPrefix("order-") }.keys.sorted()
        expectDelivered(snapshot.events, positions: orderPositions, writer: fixture.writer)
        #expect(snapshot.events.allSatisfy { $0.category == "order" })
        #expect(snapshot.position == head)
    }

    @Test func feedFollowsAcrossAWriteNodeRestart() throws {
        let fixture = try Fixture(heartbeatMs: 100)
        var configuration = EventFeed.Configuration(node: fixture.node)
        configuration.silenceTimeoutMs = 500
        configuration.requestTimeoutMs = 500
        let feed = try EventFeed(context: fixture.context, configuration: configuration, after: 0)
        let follower = FeedFollower(feed: feed, limit: 100)
        for index in 0..<50 { try fixture.writer.append(stream: "before-\(index)", count: 10) }
        #expect(follower.waitForPosition(500), "feed stuck at \(follower.snapshot.position) before the restart")

        #expect(fixture.node.stop() == 0, "SIGTERM should exit 0")
        // With the node down the link falls silent, so the feed must renew its subscription.
        #expect(waitUntil(timeout: .seconds(10)) { follower.snapshot.resubscriptions > 0 }, "the feed never resubscribed")
        try fixture.node.start()
        let writer = try EventWriter(endpoint: fixture.node.commandEndpoint)
        for index in 0..<50 { try writer.append(stream: "after-\(index)", count: 10) }
        #expect(follower.waitForPosition(1000), "feed stuck at \(follower.snapshot.position) after the restart")
        // A little more, to be sure nothing is delivered twice after the target is reached.
        try writer.append(stream: "after-last", count: 1)
        #expect(follower.waitForPosition(1001))
        let snapshot = follower.stop()
        #expect(snapshot.events.map(\.position) == positions(1...1001))
        let ids = Dictionary(uniqueKeysWithValues: (fixture.writer.acknowledged.merging(writer.acknowledged) { a, _ in a }).map { ($0.key, $0.value.id) })
        #expect(snapshot.events.allSatisfy { ids[$0.position] == $0.id })
        #expect(snapshot.resubscriptions > 0)
    }
}

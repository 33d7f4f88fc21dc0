import EventStore
import Foundation
import Subscription
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// `EventFeed` against a write node in this process: catch-up from a checkpoint, then live
/// events, each position once and in order; a category feed sees only its category; an event
/// lost on the way is fetched again. (The process-level trials, restarts and slow consumers are
/// in IntegrationTests.)
@Suite struct EventFeedTests {
    /// Polls `feed` until its position reaches `position` (bounded) and returns what it delivered.
    func poll(_ feed: EventFeed, until position: Int64, timeout: Duration = .seconds(10)) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        let deadline = ContinuousClock.now + timeout
        while feed.position < position, ContinuousClock.now < deadline {
            events += try feed.poll(timeout: 20).events
        }
        return events
    }

    func withNode(_ body: (InProcessWriteNode, Context) throws -> Void) throws {
        try withTemporaryDirectory("prism-feed") { directory in
            let node = try InProcessWriteNode(dataDirectory: directory)
            defer { node.stop() }
            try body(node, try Context())
        }
    }

    @Test func catchesUpFromItsCheckpointThenFollowsLive() throws {
        try withNode { node, context in
            var acknowledged: [(id: UUID, position: Int64)] = []
            for index in 0..<3 { acknowledged += try node.append(stream: "note-\(index)", count: 10) }
            let feed = try EventFeed(
                context: context, configuration: .init(publishEndpoint: node.publishEndpoint, catchUpEndpoint: node.catchUpEndpoint),
                after: 5)
            var delivered = try poll(feed, until: 30)
            acknowledged += try node.append(stream: "note-live", count: 10)
            delivered += try poll(feed, until: 40)
            #expect(delivered.map(\.position) == Array(6...40))
            #expect(delivered.map(\.id) == acknowledged.dropFirst(5).map(\.id))
            #expect(feed.position == 40)
        }
    }

    @Test func categoryFeedSeesOnlyItsCategoryAndReachesTheHead() throws {
        try withNode { node, context in
            let feed = try EventFeed(
                context: context,
                configuration: .init(publishEndpoint: node.publishEndpoint, catchUpEndpoint: node.catchUpEndpoint, category: "order"),
                after: 0)
            let orders = try node.append(stream: "order-1", count: 2) + node.append(stream: "order-2", count: 1)
            // `orders-…` is another category: a prefix match must not let it in.
            _ = try node.append(stream: "orders-x", count: 2)
            let last = try node.append(stream: "user-1", count: 1).last!.position
            let delivered = try poll(feed, until: last)
            #expect(delivered.map(\.id) == orders.map(\.id))
            #expect(feed.position == last)
        }
    }

    @Test func anEventLostOnTheWayIsFetchedAgain() throws {
        try withNode { node, context in
            let proxy = try LossyPublishProxy(upstream: node.publishEndpoint) { header in header.position == 2 }
            defer { proxy.close() }
            #expect(waitUntil(timeout: .seconds(10)) { proxy.heartbeats > 0 }, "relay never heard the node")
            let feed = try EventFeed(
                context: context, configuration: .init(publishEndpoint: proxy.publishEndpoint, catchUpEndpoint: node.catchUpEndpoint),
                after: 0)
            // Let the first catch-up (of an empty log) finish, so position 2 can only come back through a gap.
            #expect(try waitUntil(timeout: .seconds(10)) { try feed.poll(timeout: 20).isEmpty && !feed.isCatchingUp })
            let acknowledged = try node.append(stream: "a-1", count: 3)
            let delivered = try poll(feed, until: 3)
            #expect(delivered.map(\.id) == acknowledged.map(\.id))
            #expect(proxy.dropped == 1)
            #expect(feed.gapsRepaired > 0)
        }
    }
}

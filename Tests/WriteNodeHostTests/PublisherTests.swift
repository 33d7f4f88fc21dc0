import EventStore
import Foundation
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// What a write node publishes: each acknowledged event once, in position order, under the topic
/// of its category and type, with the header a subscriber checks for gaps; and heartbeats
/// carrying the head.
@Suite struct PublisherTests {
    @Test func eachAcknowledgedEventIsPublishedOnceWithItsHeader() throws {
        try withTemporaryDirectory("prism-publisher") { directory in
            let node = try InProcessWriteNode(dataDirectory: directory)
            defer { node.stop() }
            let context = try Context()
            let subscriber = try makeTestSocket(context, .sub)
            defer { subscriber.close(linger: 0) }
            try subscriber.subscribe("")
            try subscriber.setReceiveTimeout(5000)
            try subscriber.connect(node.publishEndpoint)
            // A heartbeat proves the subscription is live before anything is appended.
            var heartbeat: EventFrames.Heartbeat?
            while heartbeat == nil, let frames = try subscriber.receive() {
                if frames.first == EventFrames.heartbeatTopicBytes { heartbeat = try EventFrames.Heartbeat(body: frames[2]) }
            }
            #expect(heartbeat?.head == 0)

            let appended = try node.append(stream: "order-1", count: 2, type: "Placed")
                + node.append(stream: "user-1", count: 1, type: "Registered")
                + node.append(stream: "order-2", count: 1, type: "Placed")
            var published: [(topic: [UInt8], header: EventFrames.Header, event: RecordedEvent)] = []
            while published.count < appended.count, let frames = try subscriber.receive() {
                guard frames.first != EventFrames.heartbeatTopicBytes else { continue }
                let header = try #require(EventFrames.Header(bytes: frames[1]))
                published.append((frames[0], header, try EventFrames.decodeBody(frames[2])))
            }
            #expect(published.map(\.event.id) == appended.map(\.id))
            #expect(published.map(\.header.position) == [1, 2, 3, 4])
            #expect(published.map(\.header.version) == [0, 1, 0, 0])
            // Each event points back to the previous event of its category (0: none).
            #expect(published.map(\.header.previousInCategory) == [0, 1, 0, 2])
            #expect(published.map(\.topic) == [
                EventFrames.topic(category: "order", type: "Placed"), EventFrames.topic(category: "order", type: "Placed"),
                EventFrames.topic(category: "user", type: "Registered"), EventFrames.topic(category: "order", type: "Placed"),
            ])

            // The next heartbeat announces the new head.
            var head: Int64 = 0
            while head < 4, let frames = try subscriber.receive() {
                if frames.first == EventFrames.heartbeatTopicBytes { head = try EventFrames.Heartbeat(body: frames[2]).head }
            }
            #expect(head == 4)
        }
    }
}

import EventStore
import Foundation
import Subscription
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// Appends events through a write node and remembers which event id went to which position.
final class EventWriter: @unchecked Sendable {
    private let client: WriteNodeClient
    private let recorded = Locked([Int64: (id: UUID, stream: String)]())
    private let finished = DispatchGroup()
    private let failure = Locked<String?>(nil)

    init(endpoint: String) throws {
        client = try WriteNodeClient(endpoint: endpoint)
    }

    /// Everything acknowledged so far, by position.
    var acknowledged: [Int64: (id: UUID, stream: String)] { recorded.withLock { $0 } }
    var error: String? { failure.withLock { $0 } }

    /// Appends `count` events to `stream` in one request and returns the last position.
    @discardableResult
    func append(stream: String, count: Int = 1, type: String = "Probe") throws -> Int64 {
        let events = try client.append(stream: stream, count: count, type: type)
        recorded.withLock { recorded in
            for event in events { recorded[event.position] = (event.id, stream) }
        }
        return events.last?.position ?? -1
    }

    /// Runs `body` (a series of appends) on a thread of its own; see `wait`.
    func inBackground(_ body: @escaping @Sendable (EventWriter) throws -> Void) {
        finished.enter()
        Thread { [self] in
            defer { finished.leave() }
            do { try body(self) } catch { failure.withLock { $0 = "\(error)" } }
        }.start()
    }

    /// Waits for the background appends; false if they did not finish in time.
    func wait(timeout: Double = 60) -> Bool {
        finished.wait(timeout: .now() + timeout) == .success
    }
}

/// Polls an `EventFeed` on a thread of its own (its one owner) and collects what it delivers.
final class FeedFollower: @unchecked Sendable {
    struct Snapshot {
        var events: [RecordedEvent] = []
        var position: Int64 = 0
        var head: Int64 = 0
        var gapsRepaired = 0
        var resubscriptions = 0
        /// Calls to `poll` that returned.
        var polls = 0
        var lastError: String?
        var thrown: String?
        /// Whether the feed was replaying from the catch-up endpoint after the last poll.
        var catchingUp = true
    }

    private let state = Locked(Snapshot())
    private let stopped = Locked(false)
    private let finished = DispatchGroup()

    /// - Parameters:
    ///   - limit: most events per poll.
    ///   - pause: a deliberate delay after each poll, to make a slow consumer (not for readiness).
    init(feed: EventFeed, limit: Int = 5000, pause: Duration? = nil) {
        finished.enter()
        Thread { [self] in
            defer { finished.leave() }
            while !stopped.withLock({ $0 }) {
                do {
                    let events = try feed.poll(timeout: 20, limit: limit).events
                    state.withLock { snapshot in
                        snapshot.events += events
                        snapshot.polls += 1
                        snapshot.position = feed.position
                        snapshot.head = feed.head
                        snapshot.gapsRepaired = feed.gapsRepaired
                        snapshot.resubscriptions = feed.resubscriptions
                        snapshot.lastError = feed.lastError
                        snapshot.catchingUp = feed.isCatchingUp
                    }
                } catch {
                    state.withLock { $0.thrown = "\(error)" }
                    return
                }
                if let pause { Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds)) }
            }
        }.start()
    }

    var snapshot: Snapshot { state.withLock { $0 } }

    /// Waits (polling, bounded) until the feed's position reaches `position`.
    @discardableResult
    func waitForPosition(_ position: Int64, timeout: Duration = .seconds(30)) -> Bool {
        waitUntil(timeout: timeout) { snapshot.position >= position || snapshot.thrown != nil }
            && snapshot.position >= position
    }

    /// Stops the thread and returns what was delivered.
    @discardableResult
    func stop() -> Snapshot {
        stopped.withLock { $0 = true }
        _ = finished.wait(timeout: .now() + 10)
        return snapshot
    }
}

extension EventFeed.Configuration {
    init(node: WriteNodeProcess, category: String? = nil) {
        self.init(publishEndpoint: node.publishEndpoint, catchUpEndpoint: node.catchUpEndpoint, category: category)
    }
}

/// Expects `events` to be exactly the acknowledged events at `positions`, once each, in order.
func expectDelivered(
    _ events: [RecordedEvent], positions: [Int64], writer: EventWriter,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let delivered = events.map(\.position)
    #expect(delivered.count == positions.count, "delivered \(delivered.count) events, expected \(positions.count)", sourceLocation: sourceLocation)
    if delivered != positions {
        let firstDifference = zip(delivered, positions).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(delivered.count, positions.count)
        Issue.record("""
            delivered positions differ from expected at index \(firstDifference): \
            got \(delivered[firstDifference...].prefix(5)), expected \(positions[firstDifference...].prefix(5))
            """, sourceLocation: sourceLocation)
        return
    }
    let acknowledged = writer.acknowledged
    let mismatched = events.filter { acknowledged[$0.position]?.id != $0.id }
    #expect(mismatched.isEmpty, "events whose id is not the acknowledged one: \(mismatched.prefix(3).map(\.position))",
            sourceLocation: sourceLocation)
}

/// 1…n as positions.
func positions(_ range: ClosedRange<Int64>) -> [Int64] { Array(range) }

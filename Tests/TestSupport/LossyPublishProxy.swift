import Foundation
import WireProtocol
import ZeroMQ

/// A PUB relay between a write node and its subscribers that drops the event messages a test
/// chooses, so a subscriber's gap repair can be exercised deterministically (real PUB/SUB loss
/// depends on timing and high-water marks).
///
/// Heartbeats are always forwarded. Subscribers connect to `publishEndpoint`.
public final class LossyPublishProxy: @unchecked Sendable {
    public let publishEndpoint: String
    private let context: Context
    private let upstream: Socket
    private let downstream: Socket
    private let shouldDrop: @Sendable (_ topic: [UInt8], _ header: EventFrames.Header) -> Bool
    private let counters = Locked((forwarded: 0, dropped: 0, heartbeats: 0))
    private let finished = DispatchGroup()

    /// - Parameters:
    ///   - upstream: the write node's PUB endpoint.
    ///   - shouldDrop: given an event's header, whether to drop it.
    public convenience init(upstream endpoint: String, shouldDrop: @escaping @Sendable (EventFrames.Header) -> Bool) throws {
        try self.init(upstream: endpoint, dropping: { _, header in shouldDrop(header) })
    }

    /// - Parameters:
    ///   - dropping: given an event's topic and header, whether to drop it.
    public init(upstream endpoint: String, dropping shouldDrop: @escaping @Sendable (_ topic: [UInt8], _ header: EventFrames.Header) -> Bool) throws {
        self.shouldDrop = shouldDrop
        context = try Context()
        upstream = try makeTestSocket(context, .sub)
        try upstream.setReceiveHighWaterMark(0)
        try upstream.subscribe("")
        try upstream.connect(endpoint)
        downstream = try makeTestSocket(context, .pub)
        try downstream.setSendHighWaterMark(0)
        publishEndpoint = try downstream.bindEphemeralTCP()
        finished.enter()
        Thread { [self] in
            defer { finished.leave() }
            relay()
        }.start()
    }

    deinit { close() }

    public var forwarded: Int { counters.withLock { $0.forwarded } }
    public var dropped: Int { counters.withLock { $0.dropped } }
    public var heartbeats: Int { counters.withLock { $0.heartbeats } }

    /// Stops relaying and closes both sockets. Idempotent.
    public func close() {
        context.shutdown()
        finished.wait()
    }

    private func relay() {
        defer {
            upstream.close(linger: 0)
            downstream.close(linger: 0)
        }
        var poller = Poller([upstream])
        let heartbeat = EventFrames.heartbeatTopicBytes
        do {
            while true {
                guard try poller.poll(timeout: 100)[0].readable else { continue }
                while let frames = try upstream.receive(dontWait: true) {
                    if frames.first == heartbeat {
                        counters.withLock { $0.heartbeats += 1 }
                    } else if frames.count >= 2, let header = EventFrames.Header(bytes: frames[1]), shouldDrop(frames[0], header) {
                        counters.withLock { $0.dropped += 1 }
                        continue
                    } else {
                        counters.withLock { $0.forwarded += 1 }
                    }
                    try downstream.send(frames)
                }
            }
        } catch {
            // Context shut down: the proxy is closed.
        }
    }
}

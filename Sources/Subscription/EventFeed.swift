import EventModel
import Logging
import WireProtocol
import ZeroMQ

/// A lossless, ordered feed of the write node's events, built on lossy PUB/SUB.
///
/// It subscribes first, then catches up from its position over the catch-up endpoint, then follows
/// live events; it drops anything at or below its position, treats a skipped position (or, when
/// filtered, a `previousInCategory` beyond its position) or a heartbeat head beyond its position as
/// a gap and backfills it, and resubscribes when the link has been silent for too long.
///
/// With a category, `position` means "every event of that category up to here was delivered", so
/// it is a valid checkpoint. Not thread-safe: one owner thread (it blocks in `zmq_poll`).
public final class EventFeed: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var publishEndpoint: String
        public var catchUpEndpoint: String
        /// Only this category's events (PUB filtering); nil for every event.
        public var category: String?
        /// Most events asked for per catch-up request.
        public var catchUpBatch = CatchUp.defaultMaxEvents
        /// No message (event or heartbeat) for this long means a dead link: resubscribe. Milliseconds.
        public var silenceTimeoutMs = 3500
        /// How long one catch-up request may take before it is retried on a fresh socket. Milliseconds.
        ///
        /// A request in flight when the write node restarts is lost with it; this is how long the
        /// feed then stands still (seen as 3 s catch-ups after writer restarts at the old 3000).
        public var requestTimeoutMs = 1000
        /// SUB receive high-water mark in messages; past it libzmq drops (and the feed backfills).
        public var receiveHighWaterMark: Int32 = 1_000_000
        /// The keys to reach a CURVE write node with (both endpoints); nil for plain text.
        public var curve: CurveClientKeys?
        /// Where the feed reports the faults it recovers from (a gap, a silent link) and each
        /// catch-up's end with its duration; nil for none.
        public var logger: Logger?

        public init(publishEndpoint: String, catchUpEndpoint: String, category: String? = nil) {
            self.publishEndpoint = publishEndpoint
            self.catchUpEndpoint = catchUpEndpoint
            self.category = category
        }
    }

    public let configuration: Configuration
    /// The last event delivered (or scanned past, when filtered): the checkpoint.
    public private(set) var position: Int64
    /// The highest head position the write node has announced.
    public private(set) var head: Int64 = 0
    /// Gaps found in the live stream and repaired by catch-up, since start.
    public private(set) var gapsRepaired = 0
    /// Times the subscription was renewed after silence.
    public private(set) var resubscriptions = 0
    /// The last catch-up failure, cleared by the next success (for health reports).
    public private(set) var lastFailure: CatchUpFailure?
    /// `lastFailure` in words, for health reports.
    public var lastError: String? { lastFailure.map { "catch-up: \($0)" } }

    /// Why the last catch-up request got nothing usable.
    public enum CatchUpFailure: Sendable, CustomStringConvertible {
        /// No reply within the request timeout (the write node away, or under CURVE a refused key).
        case silent(endpoint: String, milliseconds: Int)
        /// The write node answered with an error (`InvalidArgument` beyond the head, `Forbidden` …).
        case refused(WireError)
        /// A reply that could not be decoded.
        case unusable(String)

        public var description: String {
            switch self {
            case .silent(let endpoint, let milliseconds): "no reply from \(endpoint) within \(milliseconds) ms"
            case .refused(let error): "\(error)"
            case .unusable(let reason): reason
            }
        }
    }

    private let context: Context
    private var subscriber: Socket
    /// DEALER to the catch-up endpoint; replaced after a request times out, so a late reply to an
    /// abandoned request can never be taken for the answer to the next one.
    private var catchUp: Socket?
    /// When the catch-up request in flight expires, if one is in flight.
    private var catchUpDeadline: Int64?
    /// After an unusable catch-up reply, no new request before this time (no hammering).
    private var retryAt: Int64 = 0
    private var needsCatchUp = true
    /// Why the catch-up under way began, when, and from where: logged when it ends. Nil for a
    /// probe's catch-up (routine, so not logged) or none.
    private var recovery: (reason: String, startedAt: Int64, from: Int64)?
    private var lastHeard: Int64

    /// Subscribes at once; the first `poll` then catches up from `position`.
    ///
    /// - Parameter position: the checkpoint: events at or below it are never delivered.
    public init(context: Context, configuration: Configuration, after position: Int64) throws {
        self.context = context
        self.configuration = configuration
        self.position = position
        self.subscriber = try Self.subscribe(context, configuration)
        self.lastHeard = monotonicNanoseconds()
        self.recovery = ("start", lastHeard, position)
    }

    deinit {
        subscriber.close(linger: 0)
        catchUp?.close(linger: 0)
    }

    private static func subscribe(_ context: Context, _ configuration: Configuration) throws -> Socket {
        let socket = try Socket(context, .sub)
        try socket.setReceiveHighWaterMark(configuration.receiveHighWaterMark)
        try socket.setLinger(0)
        try socket.setReconnectInterval(100, max: 1000)
        try socket.makeCurveClient(ifGiven: configuration.curve)
        try socket.subscribe(EventFrames.heartbeatTopic)
        try socket.subscribe(configuration.category.map(EventFrames.subscription(category:)) ?? EventFrames.eventTopicPrefix)
        try socket.connect(configuration.publishEndpoint)
        return socket
    }

    /// The next events in global order, waiting at most `timeout` milliseconds.
    ///
    /// - Parameters:
    ///   - limit: most events returned at once.
    ///   - wakeOn: another socket of the caller's thread; when it becomes readable the call
    ///     returns at once (possibly with no events), so one thread can serve both.
    /// - Returns: events after `position`, contiguous for this feed's filter, with their sync
    ///   and receive times; empty on timeout. Catch-up requests are asynchronous: the call never blocks
    ///   longer than `timeout`.
    /// - Throws: `ZMQError` (`isContextTerminated` after shutdown).
    public func poll(timeout: Int, limit: Int = CatchUp.defaultMaxEvents, wakeOn other: Socket? = nil) throws -> FeedBatch {
        if needsCatchUp {
            return try pollCatchUp(timeout: timeout, limit: limit, wakeOn: other)
        }
        var poller = Poller([subscriber] + (other.map { [$0] } ?? []))
        let listeningSince = wallClockNanoseconds()
        guard try poller.poll(timeout: timeout)[0].readable else {
            resubscribeIfSilent()
            return FeedBatch()
        }
        var batch = FeedBatch()
        batch.listeningSince = listeningSince
        while batch.count < limit, let frames = try subscriber.receive(dontWait: true) {
            let receivedAt = wallClockNanoseconds()
            lastHeard = monotonicNanoseconds()
            guard frames.count == 3, let header = EventFrames.Header(bytes: frames[1]) else { continue }
            if frames[0] == EventFrames.heartbeatTopicBytes {
                if let heartbeat = try? EventFrames.Heartbeat(body: frames[2]) { noteHeartbeat(heartbeat) }
                if needsCatchUp { break }
                continue
            }
            if header.position <= position { continue }
            let isNext = configuration.category == nil
                ? header.position == position + 1
                : header.previousInCategory <= position
            guard isNext else {
                gapsRepaired += 1
                beginRecovery("gap", metadata: ["feed.position": "\(position)", "event.position": "\(header.position)"])
                break
            }
            guard let (event, syncedAt) = try? EventFrames.decodePublishedBody(frames[2]), event.position == header.position else { continue }
            batch.append(event, syncedAt: syncedAt, receivedAt: receivedAt)
            position = event.position
            head = max(head, position)
        }
        return batch
    }

    private func noteHeartbeat(_ heartbeat: EventFrames.Heartbeat) {
        head = max(head, heartbeat.head)
        let relevantHead = configuration.category.map { heartbeat.categoryHeads[$0] ?? 0 } ?? heartbeat.head
        if relevantHead > position {
            // The events before this heartbeat were published before it: they were lost.
            gapsRepaired += 1
            beginRecovery("gap", metadata: ["feed.position": "\(position)", "heartbeat.head": "\(relevantHead)"])
        } else if configuration.category != nil {
            // Nothing of this category lies between its last event and the head: a filtered
            // feed has seen everything up to the head, which lets read-your-writes on other
            // categories' positions complete.
            position = max(position, heartbeat.head)
        }
    }

    /// Asks the catch-up endpoint on the next `poll` whether anything is missing; for a filtered
    /// feed this also moves `position` to the head (`scannedTo`) when nothing of its category is new.
    public func probe() {
        needsCatchUp = true
    }

    private func pollCatchUp(timeout: Int, limit: Int, wakeOn other: Socket?) throws -> FeedBatch {
        let now = monotonicNanoseconds()
        if now < retryAt {
            var poller = Poller(other.map { [$0] } ?? [])
            _ = try poller.poll(timeout: min(timeout, Int((retryAt - now) / 1_000_000) + 1))
            return FeedBatch()
        }
        if let deadline = catchUpDeadline, now >= deadline {
            lastFailure = .silent(endpoint: configuration.catchUpEndpoint, milliseconds: configuration.requestTimeoutMs)
            catchUp?.close(linger: 0)
            catchUp = nil
            catchUpDeadline = nil
        }
        let socket: Socket
        if let existing = catchUp {
            socket = existing
        } else {
            socket = try Socket(context, .dealer)
            try socket.setLinger(0)
            try socket.makeCurveClient(ifGiven: configuration.curve)
            try socket.connect(configuration.catchUpEndpoint)
            catchUp = socket
        }
        if catchUpDeadline == nil {
            try requestCatchUp(on: socket, limit: limit)
        }
        let untilDeadline = Int((catchUpDeadline! - now) / 1_000_000) + 1
        var poller = Poller([socket] + (other.map { [$0] } ?? []))
        guard try poller.poll(timeout: min(timeout, untilDeadline))[0].readable,
              var reply = try socket.receive(dontWait: true)
        else { return FeedBatch() }
        let receivedAt = wallClockNanoseconds()
        catchUpDeadline = nil
        if reply.first?.isEmpty == true { reply.removeFirst() }
        do {
            guard let first = reply.first else { throw WireError(.malformed, "empty catch-up reply") }
            let summary = try CatchUp.Summary(body: first)
            guard reply.count == 2 else {
                throw WireError(.malformed, "a binary catch-up reply has \(reply.count) frames, not 2 (summary, records)")
            }
            var batch = FeedBatch()
            batch.reserveCapacity(summary.count)
            for event in try CatchUp.decodeRecords(reply[1], count: summary.count) where event.position > position {
                batch.append(event, syncedAt: 0, receivedAt: receivedAt)
                position = event.position
            }
            position = max(position, summary.scannedTo)
            head = max(head, summary.head)
            needsCatchUp = summary.scannedTo < summary.head
            if !needsCatchUp { endRecovery() }
            lastFailure = nil
            lastHeard = monotonicNanoseconds()
            if needsCatchUp {
                // Ask for the next batch now: the write node reads it while the caller applies this one.
                try requestCatchUp(on: socket, limit: limit)
            }
            return batch
        } catch {
            // A reply we cannot use (e.g. "beyond the head" after the write node lost its data):
            // report it and ask again later rather than skip anything.
            lastFailure = (error as? WireError).map(CatchUpFailure.refused) ?? .unusable("\(error)")
            retryAt = monotonicNanoseconds() + 500_000_000
            return FeedBatch()
        }
    }

    private func requestCatchUp(on socket: Socket, limit: Int) throws {
        let request = CatchUp.Request(
            after: position, limit: min(limit, configuration.catchUpBatch),
            filter: EventFilter(categories: configuration.category.map { [$0] } ?? []), format: .binary)
        try socket.send([[], request.json.jsonBytes])
        catchUpDeadline = monotonicNanoseconds() + Int64(configuration.requestTimeoutMs) * 1_000_000
    }

    /// Whether the feed is replaying from the catch-up endpoint rather than following live events.
    public var isCatchingUp: Bool { needsCatchUp }

    /// A link silent for longer than the timeout (no heartbeat) is presumed dead: libzmq may not
    /// notice a half-open TCP connection, so the subscription is renewed and the feed catches up.
    private func resubscribeIfSilent() {
        let silentFor = (monotonicNanoseconds() - lastHeard) / 1_000_000
        guard silentFor > configuration.silenceTimeoutMs else { return }
        if let fresh = try? Self.subscribe(context, configuration) {
            subscriber.close(linger: 0)
            subscriber = fresh
            resubscriptions += 1
        }
        beginRecovery("silence", metadata: ["silent.ms": "\(silentFor)", "endpoint.publish": "\(configuration.publishEndpoint)"])
        lastHeard = monotonicNanoseconds()
    }

    /// Starts catching up after a fault, and says so (once per recovery: a gap found while one is
    /// repaired joins it).
    private func beginRecovery(_ reason: String, metadata: Logger.Metadata) {
        needsCatchUp = true
        guard recovery == nil else { return }
        recovery = (reason, monotonicNanoseconds(), position)
        configuration.logger?.notice(
            reason == "gap" ? "gap in the live stream: catching up" : "no event or heartbeat: resubscribed, catching up",
            metadata: metadata.merging(["recovery": "\(reason)"]) { $1 })
    }

    /// The catch-up reached the head: reports how long the recovery (or the start) took.
    private func endRecovery() {
        guard let (reason, startedAt, from) = recovery else { return }
        recovery = nil
        configuration.logger?.info(reason == "start" ? "caught up" : "recovered: caught up", metadata: [
            "recovery": "\(reason)", "catchUp.ms": "\((monotonicNanoseconds() - startedAt) / 1_000_000)",
            "catchUp.positions": "\(position - from)", "feed.position": "\(position)",
        ])
    }
}

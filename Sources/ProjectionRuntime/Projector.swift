import EventStore
import Foundation
import Logging
import Subscription
import WireProtocol
import ZeroMQ

/// Keeps a `Projection` up to date from the write node and answers its queries.
///
/// One thread of its own owns the event feed (SUB + catch-up), the query ROUTER and the
/// projection: it applies each batch of events in one read-model transaction with its checkpoint,
/// then answers the queries that arrived, holding those with a `minPosition` not yet applied
/// until it is (or their `timeoutMs` passes: `Stale`) without blocking the others.
public final class Projector: @unchecked Sendable {
    public let configuration: ProjectorConfiguration
    /// The query endpoint actually bound (a `tcp://…:*` port resolved).
    public let boundQueryEndpoint: String
    private let context: Context
    private let querySocket: Socket
    private let projection: any Projection
    private let logger: Logger

    // Owned by the projector thread.
    private var applied: Int64 = 0
    private var lag = LagRecorder()
    private var eventsApplied = 0
    private var transactions = 0
    private var queriesAnswered = 0
    private var staleAnswers = 0
    private var waiting: [WaitingQuery] = []
    private var feed: EventFeed?
    private var lastProbe: Int64 = 0
    private let started = monotonicNanoseconds()

    static let builtInQueries = ["stats", "health", "digest"]

    private struct WaitingQuery {
        var route: [[UInt8]]
        var request: QueryRequest
        var deadline: Int64
    }

    /// Binds the query endpoint and, with `rebuild`, discards the read model.
    ///
    /// - Throws: `ProjectorError` naming what could not be used.
    public init(configuration: ProjectorConfiguration, projection: any Projection, logger: Logger) throws {
        self.configuration = configuration
        self.projection = projection
        self.logger = logger
        do {
            context = try Context()
            querySocket = try Socket(context, .router)
            try querySocket.setMaxMessageSize(Int64(max(configuration.maxRequestBytes * 16, 1 << 20)))
            try querySocket.setSendHighWaterMark(0)
            do {
                try querySocket.bind(configuration.queryEndpoint)
            } catch {
                throw ProjectorError("cannot bind the query endpoint \(configuration.queryEndpoint): \(error.message)")
            }
            boundQueryEndpoint = try querySocket.lastEndpoint
        } catch let error as ZMQError {
            throw ProjectorError("\(error)")
        }
        do {
            if configuration.rebuild {
                try projection.reset()
                logger.info("read model discarded for rebuild")
            }
            applied = try projection.checkpoint()
        } catch {
            throw ProjectorError("cannot open the \(configuration.name) read model: \(error)")
        }
    }

    /// Serves on a thread of its own until `shutdown()`, then returns after the last batch is
    /// committed, the projection is closed and the query socket has flushed its replies.
    public func run() {
        let finished = DispatchSemaphore(value: 0)
        Thread { [self] in
            loop()
            finished.signal()
        }.start()
        finished.wait()
    }

    /// Stops serving, from any thread.
    public func shutdown() {
        context.shutdown()
    }

    private func loop() {
        logger.info("projector serving", metadata: [
            "projector.name": "\(configuration.name)", "endpoint.query": "\(boundQueryEndpoint)",
            "projector.checkpoint": "\(applied)",
        ])
        defer {
            do { try projection.close() } catch { logger.error("closing the read model failed", metadata: ["error": "\(error)"]) }
            feed = nil
            querySocket.close(linger: configuration.shutdownLingerMs)
            logger.info("projector stopped", metadata: ["projector.checkpoint": "\(applied)"])
        }
        do {
            var feedConfiguration = EventFeed.Configuration(
                publishEndpoint: configuration.publishEndpoint, catchUpEndpoint: configuration.catchUpEndpoint,
                category: projection.category)
            feedConfiguration.silenceTimeoutMs = configuration.silenceTimeoutMs
            feedConfiguration.catchUpBatch = configuration.maxEventsPerTransaction
            let feed = try EventFeed(context: context, configuration: feedConfiguration, after: applied)
            self.feed = feed
            while true {
                let events = try feed.poll(
                    timeout: pollTimeout(), limit: configuration.maxEventsPerTransaction, wakeOn: querySocket)
                if !events.isEmpty || feed.position > applied {
                    try apply(events, through: feed.position)
                }
                try serveQueries()
                try answerWaiting()
                // A filtered projection learns of other categories' positions only from heartbeats;
                // a query waiting for one asks the catch-up endpoint instead of waiting for the next.
                if let wanted = waiting.map(\.request.minPosition).min(), wanted > applied, !feed.isCatchingUp,
                   projection.category != nil, monotonicNanoseconds() - lastProbe > 2_000_000 {
                    lastProbe = monotonicNanoseconds()
                    feed.probe()
                }
            }
        } catch let error as ZMQError where error.isContextTerminated {
            return
        } catch {
            // Applying failed: the read model cannot move on without skipping events, so stop
            // loudly; the checkpoint is intact and a restart resumes from it.
            logger.critical("projector failed", metadata: ["error": "\(error)"])
            exit(1)
        }
    }

    private func pollTimeout() -> Int {
        guard let earliest = waiting.map(\.deadline).min() else { return 250 }
        return Int(max(0, min(250, (earliest - monotonicNanoseconds()) / 1_000_000 + 1)))
    }

    private func apply(_ events: [RecordedEvent], through position: Int64) throws {
        try projection.apply(events, through: position)
        let appliedAt = wallClockNanoseconds()
        for event in events {
            lag.record(recordedAt: event.recordedAt, appliedAt: appliedAt)
        }
        applied = position
        eventsApplied += events.count
        transactions += 1
    }

    // MARK: - Queries

    private func serveQueries() throws {
        while let frames = try querySocket.receive(dontWait: true) {
            switch RequestEnvelope.split(frames) {
            case .failure(let failure):
                try reply(failure.route, failure.error.reply)
            case .success(let envelope):
                do {
                    let request = try QueryRequest.parse(envelope.body, configuration: configuration)
                    // An unknown query is an error now, not after waiting for its position.
                    guard Self.builtInQueries.contains(request.name) || projection.queryNames.contains(request.name) else {
                        throw WireError(.unknownQuery, "unknown query '\(request.name.prefix(64))' (\(configuration.name) answers: "
                            + (projection.queryNames + Self.builtInQueries).joined(separator: ", ") + ")")
                    }
                    if request.minPosition <= applied {
                        try reply(envelope.route, answer(request))
                    } else if request.timeoutMs == 0 {
                        try reply(envelope.route, stale(request))
                    } else if waiting.count >= configuration.maxWaitingQueries {
                        try reply(envelope.route, WireError(.unavailable,
                            "\(waiting.count) queries are already waiting for positions; try again later").reply)
                    } else {
                        let deadline = monotonicNanoseconds() + Int64(request.timeoutMs) * 1_000_000
                        waiting.append(WaitingQuery(route: envelope.route, request: request, deadline: deadline))
                    }
                } catch let error as WireError {
                    try reply(envelope.route, error.reply)
                }
            }
        }
    }

    /// Answers the waiting queries whose position is now applied, and `Stale` those out of time.
    private func answerWaiting() throws {
        guard !waiting.isEmpty else { return }
        let now = monotonicNanoseconds()
        var stillWaiting: [WaitingQuery] = []
        for query in waiting {
            if query.request.minPosition <= applied {
                try reply(query.route, answer(query.request))
            } else if now >= query.deadline {
                try reply(query.route, stale(query.request))
            } else {
                stillWaiting.append(query)
            }
        }
        waiting = stillWaiting
    }

    private func stale(_ request: QueryRequest) -> JSONValue {
        staleAnswers += 1
        return WireError(.stale, "\(configuration.name) has applied position \(applied), not yet \(request.minPosition), after waiting \(request.timeoutMs) ms").reply
    }

    private func answer(_ request: QueryRequest) -> JSONValue {
        queriesAnswered += 1
        do {
            let result: JSONValue
            switch request.name {
            case "stats": result = try stats(request.params)
            case "health": result = health()
            case "digest": result = ["digest": .string(try projection.digest())]
            default: result = try projection.query(request.name, params: request.params)
            }
            return ["ok": true, "position": .int(applied), "result": result]
        } catch let error as WireError {
            return error.reply
        } catch {
            logger.error("query failed", metadata: ["query.name": "\(request.name)", "error": "\(error)"])
            return WireError(.internal, "\(request.name) failed: \(error)").reply
        }
    }

    private func reply(_ route: [[UInt8]], _ body: JSONValue) throws {
        try querySocket.send(route + [body.jsonBytes], dontWait: true)
    }

    private func stats(_ params: JSONValue) throws -> JSONValue {
        let reset = try FieldReader(params, path: "params").optionalBool("reset") ?? false
        let result: JSONValue = [
            "name": .string(configuration.name),
            "applied": .int(applied),
            "head": .int(max(feed?.head ?? 0, applied)),
            "eventsApplied": .int(Int64(eventsApplied)),
            "transactions": .int(Int64(transactions)),
            "lagUs": LagRecorder.summary(lag.total),
            "intervalLagUs": LagRecorder.summary(lag.interval),
            "gapsRepaired": .int(Int64(feed?.gapsRepaired ?? 0)),
            "resubscriptions": .int(Int64(feed?.resubscriptions ?? 0)),
            "queriesAnswered": .int(Int64(queriesAnswered)),
            "staleAnswers": .int(Int64(staleAnswers)),
            "waitingQueries": .int(Int64(waiting.count)),
            "uptimeMs": .int((monotonicNanoseconds() - started) / 1_000_000),
            "time": .int(wallClockNanoseconds()),
        ]
        if reset { lag.resetInterval() }
        guard let readModel = projection.statistics, case .object(var fields) = result else { return result }
        fields["readModel"] = readModel
        return .object(fields)
    }

    private func health() -> JSONValue {
        let head = max(feed?.head ?? 0, applied)
        let status: String
        if let error = feed?.lastError, feed?.isCatchingUp == true, !error.isEmpty {
            status = "disconnected"
        } else if feed?.isCatchingUp == true || head > applied {
            status = "catchingUp"
        } else {
            status = "live"
        }
        var result: [String: JSONValue] = [
            "name": .string(configuration.name), "status": .string(status),
            "applied": .int(applied), "head": .int(head),
            "queries": .array((projection.queryNames + Self.builtInQueries).map { .string($0) }),
        ]
        if let error = feed?.lastError { result["lastError"] = .string(error) }
        return .object(result)
    }
}

/// Why a projector could not start.
public struct ProjectorError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

import EventStore
import Foundation
import Logging
import Security
import Subscription
import WireProtocol
import ZeroMQ

/// Keeps a `Projection` up to date from the write node and answers its queries.
///
/// One thread of its own owns the event feed (SUB + catch-up), the query ROUTER and the
/// projection: it applies each batch of events in one read-model transaction with its checkpoint,
/// then answers the queries that arrived, holding those with a `minPosition` not yet applied
/// until it is (or their `timeoutMs` passes: `Stale`) without blocking the others.
///
/// A batch the read model's store fails (`ReadModelStoreError`) is retried with backoff (health
/// `retrying`, or `disconnected` when its server cannot be reached); before the retry the store is
/// asked for its checkpoint again, so a commit whose reply was lost is not applied twice and a
/// server that came back older (a Redis that lost its last second) is caught up from its own
/// checkpoint instead of being written past. A store unreachable at start is waited for the same
/// way, answering `health` meanwhile. An event the projection throws on stops the projector at that event (health
/// `failed`) until a fixed build restarts it or a loopback `skip` request parks the event in
/// `skipped.jsonl`. Either way it keeps answering queries from its last good state.
///
/// A rebuild (`--rebuild`, or a loopback `rebuild` request) fills a fresh copy of the read model
/// from position 0 in `generation-<n+1>/` beside the live one (`ShadowBuild`, a thread and a feed of
/// its own), while this thread keeps answering from the live copy; once the copy has caught up, this
/// thread switches to it (`CURRENT` names the live generation) and removes the old one.
public final class Projector: @unchecked Sendable {
    public let configuration: ProjectorConfiguration
    /// The query endpoint actually bound (a `tcp://…:*` port resolved).
    public let boundQueryEndpoint: String
    private let context: Context
    private let querySocket: Socket
    private var projection: any Projection
    private let makeProjection: @Sendable (String) throws -> any Projection
    private var generations: ModelGenerations
    private let skipped: SkippedEvents
    private let metrics: ProjectorMetrics
    private let logger: Logger

    // Owned by the projector thread.
    private var applied: Int64 = 0
    private var lag: LagRecorder
    private var eventsApplied = 0
    private var transactions = 0
    private var queriesAnswered = 0
    private var staleAnswers = 0
    private var waiting: [WaitingQuery] = []
    /// Clients that leave their replies unread: their queries are dropped unprocessed for a while.
    private var unreading = UnreadingClients()
    /// A query that would have been its connection's second in one pass: the next pass starts with it.
    private var heldQuery: Socket.ReceivedMessage?
    private var feed: EventFeed?
    private var lastProbe: Int64 = 0
    private let started = monotonicNanoseconds()
    /// Events received from the feed and not yet applied, up to `backlogThrough`: waiting only
    /// while the store is retried or the projector is stopped at an event.
    private var backlog = FeedBatch()
    private var backlogThrough: Int64 = 0
    /// Whether the projection was told it reached the head (`Projection.reachedHead`).
    private var reachedHead = false
    /// The event the projection threw on; nothing after it is applied until it is skipped.
    private var stoppedAt: ApplyFailure?
    /// The store's last failure while a batch waits for its retry at `retryAt`.
    private var storeRetry: (error: ReadModelStoreError, retryAt: Int64)?
    private var storeBackoff: StoreRetryBackoff
    private var storeFailures = 0
    /// The copy being built beside the live one, if a rebuild is under way.
    private var rebuild: ShadowBuild?
    private var lastRebuild: JSONValue?
    /// `stats`' lag summaries as of `eventsApplied` and the interval's `resets`.
    private var lagSummaries: (eventsApplied: Int, resets: Int, fields: [String: JSONValue])?
    private var intervalResets = 0

    static let builtInQueries = ["stats", "health", "digest"]
    /// Requests that change the projector: the `admin` role's with `--keys`, else loopback peers'.
    static let adminRequests = ["skip", "rebuild"]

    private struct WaitingQuery {
        var route: [[UInt8]]
        var request: QueryRequest
        var deadline: Int64
    }

    /// Opens the live copy of the read model in the data directory (discarding the shadow of an
    /// interrupted rebuild) and binds the query endpoint. A store whose server cannot be reached
    /// yet is not an error: the projector serves `health` and keeps trying it with backoff.
    ///
    /// - Parameters:
    ///   - makeProjection: opens (creating) the read model in a directory; called again on a builder
    ///     thread for each rebuild.
    ///   - metrics: made from the swift-metrics backend bootstrapped before; by default, from
    ///     `MetricsSystem` (no-ops when none was).
    /// - Throws: `ProjectorError` naming what could not be used.
    public init(
        configuration: ProjectorConfiguration, makeProjection: @escaping @Sendable (String) throws -> any Projection,
        metrics: ProjectorMetrics? = nil, logger: Logger
    ) throws {
        self.configuration = configuration
        self.makeProjection = makeProjection
        let metrics = metrics ?? ProjectorMetrics(projector: configuration.name)
        self.metrics = metrics
        lag = LagRecorder(exporting: metrics.lag)
        self.logger = logger
        storeBackoff = StoreRetryBackoff(maxMilliseconds: configuration.maxStoreRetryDelayMs)
        do {
            generations = try ModelGenerations(directory: configuration.dataDirectory)
            projection = try makeProjection(generations.livePath)
            skipped = try SkippedEvents(directory: configuration.dataDirectory)
        } catch {
            throw ProjectorError("cannot open the \(configuration.name) read model in \(configuration.dataDirectory): \(error)")
        }
        do {
            context = try Context()
            try configuration.security?.startHandler(on: context, logger: logger)
            querySocket = try QuerySocket.bind(
                configuration.queryEndpoint, context: context, security: configuration.security,
                maxRequestBytes: configuration.maxRequestBytes, queuePerConnection: configuration.queuePerConnection)
            boundQueryEndpoint = try querySocket.lastEndpoint
        } catch let error as QuerySocket.BindFailure {
            throw ProjectorError(error.message)
        } catch let error as ZMQError {
            throw ProjectorError("\(error)")
        } catch let error as SecurityError {
            throw ProjectorError(error.message)
        }
        do {
            applied = try projection.checkpoint()
        } catch {
            guard let storeError = ReadModelStoreError.from(error) else {
                throw ProjectorError("cannot open the \(configuration.name) read model: \(error)")
            }
            noteStoreFailure(storeError)
        }
    }

    /// Serves on a thread of its own until `shutdown()`, then returns after the last batch is
    /// committed, the projection is closed and the query socket has flushed its replies.
    ///
    /// - Throws: the error the projector could not serve through (the executable exits with it).
    public func run() throws {
        let finished = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: (any Error)?
        Thread { [self] in
            failure = loop()
            finished.signal()
        }.start()
        finished.wait()
        if let failure { throw failure }
    }

    /// Reads the authorized keys again (SIGHUP): a removed key's connections lose their rights at
    /// their next request.
    public func reloadAuthorizedKeys() {
        configuration.security?.gatekeeper.reload()
    }

    /// Stops serving, from any thread.
    public func shutdown() {
        context.shutdown()
    }

    /// - Returns: nil after `shutdown()`, else why the projector stopped.
    private func loop() -> (any Error)? {
        logger.info("projector serving", metadata: [
            "projector.name": "\(configuration.name)", "endpoint.query": "\(boundQueryEndpoint)",
            "projector.checkpoint": "\(applied)",
        ])
        defer {
            rebuild?.stop()
            rebuild = nil
            do { try projection.close() } catch { logger.error("closing the read model failed", metadata: ["error": "\(error)"]) }
            feed = nil
            querySocket.close(linger: configuration.shutdownLingerMs)
            logger.info("projector stopped", metadata: ["projector.checkpoint": "\(applied)"])
        }
        var rebuildAsked = configuration.rebuild
        do {
            while true {
                updateMetrics()
                if let retry = storeRetry, retry.retryAt <= monotonicNanoseconds() { try reconcileCheckpoint() }
                // No feed yet (the store has not answered since the start) or again (a rewind to the
                // store's checkpoint): it opens once the store answers.
                if storeRetry == nil, feed == nil { feed = try EventFeed(context: context, configuration: feedConfiguration(logger: logger), after: applied) }
                guard let feed else {
                    // The store has not answered yet: only queries (health, stats) are served.
                    var poller = Poller([querySocket])
                    _ = try poller.poll(timeout: pollTimeout())
                    try answerWaiting()
                    try serveQueries()
                    continue
                }
                if rebuildAsked {
                    rebuildAsked = false
                    // An empty model is built from position 0 as it is; there is nothing to build beside.
                    if applied > 0 { try startRebuild() } else { logger.info("read model empty: built from position 0 as it serves") }
                }
                if backlogThrough <= applied {
                    let batch = try feed.poll(
                        timeout: pollTimeout(), limit: configuration.maxEventsPerTransaction, wakeOn: querySocket)
                    if !batch.isEmpty || feed.position > applied {
                        backlog = batch
                        backlogThrough = feed.position
                    }
                } else {
                    // A batch waits for a retry or a skip: serve queries, and leave the feed be
                    // (whatever its socket drops meanwhile, it backfills once polled again).
                    var poller = Poller([querySocket])
                    _ = try poller.poll(timeout: pollTimeout())
                }
                if backlogThrough > applied, stoppedAt == nil, storeRetry == nil {
                    applyLive()
                }
                if !reachedHead, backlogThrough <= applied, applied >= feed.head, !feed.isCatchingUp {
                    noteReachedHead()
                }
                try advanceRebuild()
                // Those that waited for a position first, then the new ones.
                try answerWaiting()
                try serveQueries()
                // A filtered projection learns of other categories' positions only from heartbeats;
                // a query waiting for one asks the catch-up endpoint instead of waiting for the next.
                if let wanted = waiting.map(\.request.minPosition).min(), wanted > applied, !feed.isCatchingUp,
                   projection.category != nil, monotonicNanoseconds() - lastProbe > 2_000_000 {
                    lastProbe = monotonicNanoseconds()
                    feed.probe()
                }
            }
        } catch let error as ZMQError where error.isContextTerminated {
            return nil
        } catch {
            logger.critical("projector failed", metadata: ["error": "\(error)"])
            return error
        }
    }

    private func pollTimeout() -> Int {
        if heldQuery != nil { return 0 }
        let wakeAt = (waiting.map(\.deadline) + [storeRetry?.retryAt].compactMap { $0 }).min()
        guard let wakeAt else { return 250 }
        return Int(max(0, min(250, (wakeAt - monotonicNanoseconds()) / 1_000_000 + 1)))
    }

    /// Applies the backlog to the live read model: the one place live events reach it.
    ///
    /// Skipped positions are left out; a store failure keeps what did not go in for a retry with
    /// backoff; a projection error stops at its event with everything before it applied.
    private func applyLive() {
        let events = backlog.events.leavingOut(skipped.positions)
        let startedAt = wallClockNanoseconds()
        let outcome = projection.applyBatch(events, through: backlogThrough, after: applied)
        let timing = ApplyTiming(startedAt: startedAt, committedAt: wallClockNanoseconds(), commitNanoseconds: projection.lastCommitNanoseconds)
        let appliedThrough: Int64
        switch outcome {
        case .applied:
            appliedThrough = backlogThrough
            storeBackoff.reset()
        case .storeFailed(let error, let through):
            appliedThrough = through
            noteStoreFailure(error)
        case .stopped(let failure, let through):
            appliedThrough = through
            storeRetry = nil
            storeBackoff.reset()
            stoppedAt = failure
            logger.error("projection failed on an event; stopped there", metadata: [
                "event.position": "\(failure.position)", "event.type": "\(failure.type)",
                "event.stream": "\(failure.stream)", "error": "\(failure.error)",
            ])
        }
        let appliedCount = backlog.events.prefix { $0.position <= appliedThrough }.count
        lag.record(backlog, first: appliedCount, timing: timing)
        eventsApplied += appliedCount
        metrics.events.increment(by: Int64(appliedCount))
        if appliedThrough > applied {
            transactions += 1
            metrics.transactions.increment()
            metrics.batchEvents.record(appliedCount)
            metrics.batchDuration.recordNanoseconds(timing.committedAt - timing.startedAt)
        }
        applied = max(applied, appliedThrough)
        backlog.removeFirst(appliedCount)
    }

    /// Waits out the store's failure: the next try after a backoff, asking the store for its checkpoint first.
    private func noteStoreFailure(_ error: ReadModelStoreError) {
        storeFailures += 1
        metrics.storeFailures.increment()
        let delayMs = storeBackoff.next()
        storeRetry = (error, monotonicNanoseconds() + Int64(delayMs) * 1_000_000)
        logger.warning(error.disconnected ? "read model store unreachable; retrying" : "read model store failed; retrying", metadata: [
            "error": "\(error)", "retry.delayMs": "\(delayMs)", "projector.checkpoint": "\(applied)",
        ])
    }

    /// Before a batch is tried again after a store failure, asks the store where it is: a commit
    /// whose reply was lost is there already (not applied twice), and a server that came back
    /// older than the projector's memory is caught up from its own checkpoint. Either way the
    /// feed starts again after the store's checkpoint.
    private func reconcileCheckpoint() throws {
        let stored: Int64
        do {
            stored = try projection.checkpoint()
        } catch {
            noteStoreFailure(ReadModelStoreError.from(error) ?? ReadModelStoreError("reading the checkpoint failed: \(error)"))
            return
        }
        if let retry = storeRetry {
            logger.notice("read model store answers again", metadata: ["error.previous": "\(retry.error)", "projector.checkpoint": "\(stored)"])
        }
        storeRetry = nil
        // Without a feed nothing was applied yet: the store's checkpoint is simply where to start.
        guard stored != applied || feed == nil else { return }
        if feed != nil {
            logger.notice(stored < applied ? "the store came back older than the projector: catching up from its checkpoint"
                                           : "the store had committed what it failed to acknowledge", metadata: [
                "projector.checkpoint": "\(stored)", "projector.appliedBefore": "\(applied)",
            ])
        }
        applied = stored
        backlog = FeedBatch()
        backlogThrough = stored
        // Opened again (after the store's checkpoint) at the top of the loop.
        feed = nil
    }

    /// Lets the projection build what it deferred (before any query sees the caught-up model).
    private func noteReachedHead() {
        reachedHead = true
        let started = monotonicNanoseconds()
        do {
            try projection.reachedHead()
            logger.info("reached the head", metadata: [
                "projector.checkpoint": "\(applied)", "reachedHead.ms": "\((monotonicNanoseconds() - started) / 1_000_000)",
            ])
        } catch {
            // The model still answers correctly, only without what it deferred: say so, go on.
            logger.error("the read model's work at the head failed", metadata: ["error": "\(error)"])
        }
    }

    /// `skip`: parks the event the projector stopped at (recorded in `skipped.jsonl`) and moves on.
    private func skip(_ params: JSONValue) throws -> JSONValue {
        let position = try FieldReader(params, path: "params").int("position", in: 1...Int64.max)
        guard let failure = stoppedAt else {
            throw WireError(.invalidArgument, "\(configuration.name) is not stopped at an event; nothing to skip")
        }
        guard failure.position == position else {
            throw WireError(.invalidArgument, "\(configuration.name) is stopped at position \(failure.position), not \(position)")
        }
        do {
            try skipped.record(failure)
        } catch {
            throw WireError(.internal, "cannot record the skip: \(error)")
        }
        logger.notice("event skipped by request", metadata: ["event.position": "\(position)", "event.type": "\(failure.type)"])
        stoppedAt = nil
        return ["skipped": failure.json]
    }

    // MARK: - Rebuild

    /// - Parameter logger: the live feed's recoveries are logged; a rebuild's feed is quiet.
    private func feedConfiguration(logger: Logger? = nil) -> EventFeed.Configuration {
        var feedConfiguration = EventFeed.Configuration(
            publishEndpoint: configuration.publishEndpoint, catchUpEndpoint: configuration.catchUpEndpoint,
            category: projection.category)
        feedConfiguration.silenceTimeoutMs = configuration.silenceTimeoutMs
        feedConfiguration.catchUpBatch = configuration.maxEventsPerTransaction
        feedConfiguration.curve = configuration.writeNodeKeys
        feedConfiguration.logger = logger
        return feedConfiguration
    }

    /// Starts building the next generation beside the live one.
    private func startRebuild() throws {
        if let rebuild {
            let progress = rebuild.progress
            throw WireError(.unavailable, "already rebuilding (generation \(rebuild.generation), at position \(progress.applied) of \(progress.head))")
        }
        let build = ShadowBuild(generation: generations.current + 1, directory: generations.path(generations.current + 1))
        build.noteLive(applied)
        build.start(context: context, feedConfiguration: feedConfiguration(), batch: configuration.maxEventsPerTransaction,
                    maxRetryDelayMs: configuration.maxStoreRetryDelayMs, skipped: skipped.positions,
                    makeProjection: makeProjection, logger: logger)
        rebuild = build
        logger.notice("rebuild started", metadata: ["rebuild.generation": "\(build.generation)", "projector.checkpoint": "\(applied)"])
    }

    /// Follows the rebuild: once the builder hands its copy over, brings it level with the live
    /// copy (what arrived since, from its own feed) and switches.
    private func advanceRebuild() throws {
        guard let build = rebuild else { return }
        switch build.state {
        case .building:
            build.noteLive(applied)
        case .failed(let reason):
            finishRebuild(build, ["generation": .int(Int64(build.generation)), "failed": .string(reason)], discard: true)
        case .ready:
            guard let shadow = build.projection, let shadowFeed = build.feed else { return }
            var shadowApplied = shadowFeed.position
            if shadowApplied < applied {
                let events = try shadowFeed.poll(timeout: 0, limit: configuration.maxEventsPerTransaction).events
                guard !events.isEmpty || shadowFeed.position > shadowApplied else { return }
                guard case .applied = shadow.applyBatch(events.leavingOut(skipped.positions), through: shadowFeed.position, after: shadowApplied) else {
                    finishRebuild(build, ["generation": .int(Int64(build.generation)), "failed": "the new copy failed to apply the last events"], discard: true)
                    return
                }
                shadowApplied = shadowFeed.position
            }
            let liveAheadOfLog = shadowFeed.head > 0 && applied > shadowFeed.head && shadowApplied >= shadowFeed.head
            guard shadowApplied >= applied || liveAheadOfLog else { return }
            try switchToRebuilt(build, shadow, shadowFeed)
        }
    }

    /// Makes the rebuilt copy the live one: `CURRENT` first (a crash after it serves the new copy),
    /// then the projection and feed, then the old copy is removed.
    private func switchToRebuilt(_ build: ShadowBuild, _ shadow: any Projection, _ shadowFeed: EventFeed) throws {
        let old = projection
        let oldGeneration = generations.current
        do {
            try generations.switchTo(build.generation)
        } catch {
            finishRebuild(build, ["generation": .int(Int64(build.generation)), "failed": .string("cannot switch: \(error)")], discard: true)
            return
        }
        projection = shadow
        feed = shadowFeed
        applied = shadowFeed.position
        backlog = FeedBatch()
        backlogThrough = applied
        stoppedAt = nil
        storeRetry = nil
        storeBackoff.reset()
        retire(old, at: generations.path(oldGeneration))
        finishRebuild(build, [
            "generation": .int(Int64(build.generation)), "position": .int(applied),
            "durationMs": .int((monotonicNanoseconds() - build.startedAt) / 1_000_000), "finishedAt": .int(wallClockNanoseconds()),
        ], discard: false)
    }

    /// Closes the replaced copy and removes its directory on a thread of its own: nothing uses it
    /// any more, and deleting a large model would hold up the queries. (If the process stops
    /// first, the next start removes the directory: it is not the one `CURRENT` names.)
    private func retire(_ old: any Projection, at directory: String) {
        let retired = RetiredCopy(projection: old)
        let logger = logger
        Thread {
            do { try retired.projection?.close() } catch { logger.warning("closing the old copy failed", metadata: ["error": "\(error)"]) }
            do { try retired.projection?.discard() } catch { logger.warning("dropping the old copy from its store failed", metadata: ["error": "\(error)"]) }
            // The last reference: a SQLite model's connection and checkpointing thread end here,
            // before its files go.
            retired.projection = nil
            do { try FileManager.default.removeItem(atPath: directory) } catch {
                logger.warning("removing the old copy failed", metadata: ["directory": "\(directory)", "error": "\(error)"])
            }
        }.start()
    }

    /// Ends the rebuild; with `discard` (it failed) the new copy is removed and the live one stays.
    private func finishRebuild(_ build: ShadowBuild, _ summary: JSONValue, discard: Bool) {
        build.stop()
        rebuild = nil
        lastRebuild = summary
        if discard { try? FileManager.default.removeItem(atPath: build.directory) }
        logger.notice(discard ? "rebuild abandoned" : "rebuild finished", metadata: ["rebuild": "\(summary.jsonString)"])
    }

    // MARK: - Queries

    /// Answers what has arrived: at most one query per connection and `maxQueriesPerPass` in all
    /// per pass, so a connection flooding queries puts one query's work, not a queue's, before
    /// the next events are applied and the other connections answered. (The ROUTER reads the
    /// connections in turn: a query from one already answered ends the pass and opens the next.)
    private func serveQueries() throws {
        var answered: Set<[UInt8]> = []
        while answered.count < configuration.maxQueriesPerPass {
            guard let message = try heldQuery ?? querySocket.receiveMessage(dontWait: true) else { return }
            heldQuery = nil
            if unreading.turnsAway(message.frames) { continue }
            let connection = message.frames.first ?? []
            if answered.contains(connection) {
                heldQuery = message
                return
            }
            answered.insert(connection)
            try serve(message)
        }
    }

    private func serve(_ message: Socket.ReceivedMessage) throws {
        switch RequestEnvelope.split(message.frames) {
        case .failure(let failure):
            try reply(failure.route, failure.error.reply, to: "unparsed")
        case .success(let envelope):
            var query = "unparsed"
            do {
                let request = try QueryRequest.parse(envelope.body, configuration: configuration)
                query = metricsName(request.name)
                if Self.adminRequests.contains(request.name) {
                    if let gatekeeper = configuration.security?.gatekeeper {
                        try gatekeeper.authorize(message.userId, .admin, for: request.name)
                    } else if !Self.isLoopback(message.peerAddress, endpoint: boundQueryEndpoint) {
                        throw WireError(.rejected, "\(request.name) is taken only from loopback without --keys (this request came from \(message.peerAddress ?? "?"))")
                    }
                    try reply(envelope.route, answer(request), to: query)
                    return
                }
                try configuration.security?.gatekeeper.authorize(message.userId, .reader, for: "query \(request.name.prefix(64))")
                // An unknown query is an error now, not after waiting for its position.
                guard Self.builtInQueries.contains(request.name) || projection.queryNames.contains(request.name) else {
                    throw WireError(.unknownQuery, "unknown query '\(request.name.prefix(64))' (\(configuration.name) answers: "
                        + (projection.queryNames + Self.builtInQueries + Self.adminRequests).joined(separator: ", ") + ")")
                }
                if request.minPosition <= applied {
                    try reply(envelope.route, answer(request), to: query)
                } else if request.timeoutMs == 0 {
                    try reply(envelope.route, stale(request), to: query)
                } else if waiting.count >= configuration.maxWaitingQueries {
                    try reply(envelope.route, WireError(.unavailable,
                        "\(waiting.count) queries are already waiting for positions; try again later").reply, to: query)
                } else {
                    let deadline = monotonicNanoseconds() + Int64(request.timeoutMs) * 1_000_000
                    waiting.append(WaitingQuery(route: envelope.route, request: request, deadline: deadline))
                    metrics.positionWaits.increment()
                }
            } catch let error as WireError {
                try reply(envelope.route, error.reply, to: query)
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
                try reply(query.route, answer(query.request), to: metricsName(query.request.name))
            } else if now >= query.deadline {
                try reply(query.route, stale(query.request), to: metricsName(query.request.name))
            } else {
                stillWaiting.append(query)
            }
        }
        waiting = stillWaiting
    }

    private func stale(_ request: QueryRequest) -> JSONValue {
        staleAnswers += 1
        metrics.staleAnswers.increment()
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
            case "skip": result = try skip(request.params)
            case "rebuild":
                try startRebuild()
                result = ["rebuilding": ["generation": .int(Int64(generations.current + 1))]]
            default: result = try projection.query(request.name, params: request.params)
            }
            return ["ok": true, "position": .int(applied), "result": result]
        } catch let error as WireError {
            return error.reply
        } catch let error as ReadModelStoreError {
            return WireError(.unavailable, "\(configuration.name)'s read model store failed: \(error.message)").reply
        } catch {
            logger.error("query failed", metadata: ["query.name": "\(request.name)", "error": "\(error)"])
            return WireError(.internal, "\(request.name) failed: \(error)").reply
        }
    }

    /// Whether a request came from this machine: a loopback address, or no address on an
    /// inproc/ipc endpoint (a TCP peer whose address libzmq could not give is not trusted).
    static func isLoopback(_ address: String?, endpoint: String) -> Bool {
        guard let address else { return endpoint.hasPrefix("inproc://") || endpoint.hasPrefix("ipc://") }
        return address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }

    /// Sends a query's reply and counts it under `query` (a name from `metricsName`).
    private func reply(_ route: [[UInt8]], _ body: JSONValue, to query: String) throws {
        metrics.countQuery(query, reply: body)
        try unreading.send(route + [body.jsonBytes], on: querySocket)
    }

    /// A query's name as a metric label: one the projector answers, else `unknown` (a client
    /// cannot create a series per name it makes up).
    private func metricsName(_ name: String) -> String {
        Self.builtInQueries.contains(name) || Self.adminRequests.contains(name) || projection.queryNames.contains(name) ? name : "unknown"
    }

    // MARK: - Metrics

    /// From the metrics endpoint's thread, before a scrape: asks the next pass for the store's
    /// own figures (a round trip to its server, so only when scraped).
    public func refreshMetrics() {
        metrics.askForStoreFigures()
    }

    /// Once per pass of the loop: the numbers `stats` reports, into the metrics.
    private func updateMetrics() {
        metrics.update(ProjectorMetrics.Pass(
            applied: applied, head: max(feed?.head ?? 0, applied), waitingQueries: waiting.count,
            gapsRepaired: feed?.gapsRepaired ?? 0, resubscriptions: feed?.resubscriptions ?? 0,
            skipped: skipped.positions.count, generation: generations.current, rebuild: rebuild?.progress, state: status))
        if metrics.storeFiguresWanted {
            metrics.updateStore(projection.statistics, gatekeeper: configuration.security?.gatekeeper)
        }
    }

    private func stats(_ params: JSONValue) throws -> JSONValue {
        let reset = try FieldReader(params, path: "params").optionalBool("reset") ?? false
        // Summarized again only once events were applied or the interval reset (the histograms are
        // costly): a client flooding `stats` costs a copy per request, not the summaries.
        if lagSummaries?.eventsApplied != eventsApplied || lagSummaries?.resets != intervalResets {
            lagSummaries = (eventsApplied, intervalResets, [
                "lagUs": lag.lag.total.summary, "intervalLagUs": lag.lag.interval.summary,
                "lagStagesUs": lag.stagesSummary(\.total), "intervalLagStagesUs": lag.stagesSummary(\.interval),
            ])
        }
        let result: JSONValue = [
            "name": .string(configuration.name),
            "applied": .int(applied),
            "head": .int(max(feed?.head ?? 0, applied)),
            "eventsApplied": .int(Int64(eventsApplied)),
            "transactions": .int(Int64(transactions)),
            "gapsRepaired": .int(Int64(feed?.gapsRepaired ?? 0)),
            "resubscriptions": .int(Int64(feed?.resubscriptions ?? 0)),
            "queriesAnswered": .int(Int64(queriesAnswered)),
            "staleAnswers": .int(Int64(staleAnswers)),
            "waitingQueries": .int(Int64(waiting.count)),
            "storeFailures": .int(Int64(storeFailures)),
            "skipped": .int(Int64(skipped.positions.count)),
            "generation": .int(Int64(generations.current)),
            "uptimeMs": .int((monotonicNanoseconds() - started) / 1_000_000),
            "time": .int(wallClockNanoseconds()),
        ]
        guard case .object(var members) = result else { return result }
        members.merge(lagSummaries?.fields ?? [:]) { $1 }
        if reset {
            lag.resetInterval()
            intervalResets += 1
        }
        if let rebuild {
            let progress = rebuild.progress
            members["rebuild"] = ["generation": .int(Int64(rebuild.generation)), "position": .int(progress.applied), "head": .int(progress.head)]
        }
        if let lastRebuild { members["lastRebuild"] = lastRebuild }
        if let readModel = projection.statistics { members["readModel"] = readModel }
        if let gatekeeper = configuration.security?.gatekeeper { members["refusals"] = gatekeeper.refusals }
        return .object(members)
    }

    /// The health state (one of `ProjectorMetrics.states`).
    private var status: String {
        if stoppedAt != nil {
            return "failed"
        } else if let storeRetry {
            return storeRetry.error.disconnected ? "disconnected" : "retrying"
        } else if let error = feed?.lastError, feed?.isCatchingUp == true, !error.isEmpty {
            return "disconnected"
        } else if feed?.isCatchingUp == true || max(feed?.head ?? 0, applied) > applied {
            return "catchingUp"
        } else if rebuild != nil {
            return "rebuilding"
        } else {
            return "live"
        }
    }

    private func health() -> JSONValue {
        let head = max(feed?.head ?? 0, applied)
        var result: [String: JSONValue] = [
            "name": .string(configuration.name), "status": .string(status),
            "applied": .int(applied), "head": .int(head),
            "queries": .array((projection.queryNames + Self.builtInQueries).map { .string($0) }),
        ]
        if let error = feed?.lastError { result["lastError"] = .string(error) }
        if let stoppedAt { result["failure"] = stoppedAt.json }
        if let storeRetry { result["storeError"] = .string(storeRetry.error.message) }
        return .object(result)
    }
}

/// A replaced copy handed to the thread that removes it: only that thread uses it from then on.
private final class RetiredCopy: @unchecked Sendable {
    var projection: (any Projection)?
    init(projection: any Projection) { self.projection = projection }
}

/// Why a projector could not start.
public struct ProjectorError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

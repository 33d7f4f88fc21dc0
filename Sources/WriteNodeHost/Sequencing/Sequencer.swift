import EventStore
import Latency
import Logging
import Security
import WireProtocol
import ZeroMQ

/// The write node's single sequencer: receives requests, decides them into a batch, and keeps
/// one batch syncing on the committer's thread while it collects and decides the next
/// (pipelined group commit). When a batch is durable it confirms it, replies in arrival order,
/// then publishes its events in position order.
///
/// Owns the command ROUTER and the PUB socket; runs on its own thread because `zmq_poll` blocks.
final class Sequencer<D: Domain>: @unchecked Sendable {
    private let configuration: WriteNodeConfiguration
    private let commands: Socket
    private var publisher: Publisher
    private let committer: Committer
    private let store: EventStore
    private var cache: StreamStateCache<D>
    private let logger: Logger
    private let metrics: WriteNodeMetrics
    private(set) var statistics = Statistics()
    /// Clients that leave their replies unread: their requests are dropped unprocessed for a while.
    private var unreading = UnreadingClients()
    /// The last `stats` answer, and the group commits and refusals it covers.
    private var statsAnswer: (commits: Int, refusals: JSONValue, answer: JSONValue)?
    /// With `--keys`: who may do what, checked per request.
    private let gatekeeper: Gatekeeper?
    /// The PUB endpoint as bound, to unbind and bind again when a reload revokes a right.
    private let publishEndpoint: String
    private var revocationsSeen = 0
    /// Unbound to drop every subscriber; bound again as soon as the old listener has let go.
    private var publisherUnbound = false

    /// The batch being collected and decided.
    private var collecting = PendingBatch()
    /// The batch the committer is writing, with its staged form.
    private var inFlight: (pending: PendingBatch, staged: StagedBatch)?
    /// When the requests being received were read off the socket (one clock read per drain).
    private var drainedAt: Int64 = 0

    struct Statistics {
        var batches = 0
        var requests = 0
        var eventsAppended = 0
        var largestBatch = 0
        /// Times requests were taken off the command socket (each drains everything waiting).
        var receives = 0
        /// Time the committer spent writing and syncing groups, and the sequencer spent on
        /// everything else (receive, parse, decide, stage, reply, publish), in ns.
        var appendNanoseconds: Int64 = 0
        var batchNanoseconds: Int64 = 0
        /// Per appending request, from when it was read off the socket to when its group was
        /// handed to the committer (the wait for the group in flight, and deciding); per group,
        /// its write and `fdatasync`; per event, from the sync returning to the event handed to
        /// the PUB socket (the group's replies and the next group's hand-over go first). An
        /// event's way to the committer and out again, before the projector's lag stages.
        var syncWait = MicrosecondHistogram()
        var sync = MicrosecondHistogram()
        var publish = MicrosecondHistogram()
        var failedCommits = 0
    }

    init(
        configuration: WriteNodeConfiguration, domain: D, store: EventStore, commands: Socket,
        publisher: Socket, publishEndpoint: String, committer: Committer, metrics: WriteNodeMetrics, logger: Logger
    ) throws {
        self.configuration = configuration
        self.gatekeeper = configuration.security?.gatekeeper
        self.publishEndpoint = publishEndpoint
        self.commands = commands
        self.publisher = try Publisher(socket: publisher, store: store)
        self.committer = committer
        self.store = store
        self.cache = StreamStateCache(domain: domain)
        self.metrics = metrics
        self.logger = logger
    }

    /// Serves until the context is shut down, then closes its sockets with a bounded linger.
    func run() {
        var poller = Poller([commands, committer.completion])
        var completionPoller = Poller([committer.completion])
        let interval = Int64(configuration.heartbeatIntervalMs) * 1_000_000
        var nextHeartbeat = monotonicNanoseconds()
        defer {
            commands.close(linger: configuration.shutdownLingerMs)
            publisher.socket.close(linger: configuration.shutdownLingerMs)
            committer.close(linger: 0)
        }
        while true {
            do {
                let now = monotonicNanoseconds()
                if now >= nextHeartbeat {
                    try publisher.heartbeat(store: store)
                    nextHeartbeat = now + interval
                }
                readmitSubscribersAfterRevocation()
                let wait = publisherUnbound ? 1 : Int(max(0, (nextHeartbeat - now) / 1_000_000))
                let ready = try poll(&poller, &completionPoller, timeout: wait)
                let started = monotonicNanoseconds()
                if ready.committed { try finishInFlight() }
                if ready.requests { try receive() }
                if inFlight == nil { try dispatch() }
                statistics.batchNanoseconds += monotonicNanoseconds() - started
            } catch let error as ZMQError where error.isContextTerminated {
                logger.info("command loop stopping")
                return
            } catch {
                // A socket error other than shutdown is a bug or a resource limit; keep serving.
                logger.error("command loop error", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Waits for requests and the committer. While the collecting batch is full and another is
    /// syncing, only the committer can move things on: the requests are left waiting (not polled,
    /// which would return at once, again and again).
    private func poll(_ both: inout Poller, _ committerOnly: inout Poller, timeout: Int) throws -> (requests: Bool, committed: Bool) {
        if collectingIsFull && inFlight != nil {
            return (false, try committerOnly.poll(timeout: timeout)[0].readable)
        }
        let ready = try both.poll(timeout: timeout)
        return (ready[0].readable, ready[1].readable)
    }

    /// A subscriber sends no requests to check, so when a reload took a right away every
    /// subscriber is dropped (unbind) and admitted again by the ZAP handler under the new keys;
    /// the events published meanwhile, they backfill from catch-up like any other gap.
    private func readmitSubscribersAfterRevocation() {
        if let count = gatekeeper?.revocationCount, count != revocationsSeen {
            revocationsSeen = count
            do {
                try publisher.socket.unbind(publishEndpoint)
                publisherUnbound = true
                logger.notice("authorized keys revoked a right: subscribers dropped to be admitted again", metadata: ["endpoint.publish": "\(publishEndpoint)"])
            } catch {
                logger.error("cannot drop the subscribers after a revocation", metadata: ["error": "\(error)"])
            }
        }
        // The listener closes on libzmq's I/O thread: until it has, the port is still taken.
        if publisherUnbound, (try? publisher.socket.bind(publishEndpoint)) != nil {
            publisherUnbound = false
        }
    }

    // MARK: - Collecting

    /// Thrown by a decide-time lookup of a stream that a generic append of the collecting batch
    /// has changed: its state is known only once that batch is staged.
    private struct StageFirst: Error {}

    /// Whether the collecting batch takes no more requests: at the batch limit, or one connection
    /// has taken its share.
    private var collectingIsFull: Bool {
        collecting.count >= configuration.maxBatchRequests || collecting.connectionShareTaken
    }

    /// Receives and decides everything waiting, until the collecting batch is full.
    private func receive() throws {
        var received = 0
        drainedAt = monotonicNanoseconds()
        while !collectingIsFull, let (frames, userId) = try receiveRequest() {
            received += 1
            switch RequestEnvelope.split(frames) {
            case .failure(let failure): collecting.fail(failure.route, failure.error)
            case .success(let envelope):
                if unreading.turnsAway(envelope.route) { continue }
                try handle(envelope, userId: userId)
            }
            // Counted after deciding: a command that had to stage the batch first is in the new one.
            collecting.noteRequest(from: frames.first ?? [], share: configuration.maxBatchRequestsPerConnection)
        }
        statistics.largestBatch = max(statistics.largestBatch, collecting.count)
        if received > 0 { statistics.receives += 1 }
    }

    /// The next request waiting, with its connection's User-Id when requests are authorized.
    private func receiveRequest() throws -> (frames: [[UInt8]], userId: String?)? {
        guard gatekeeper != nil else { return try commands.receive(dontWait: true).map { ($0, nil) } }
        return try commands.receiveMessage(dontWait: true).map { ($0.frames, $0.userId) }
    }

    private func handle(_ envelope: RequestEnvelope, userId: String?) throws {
        statistics.requests += 1
        do {
            switch try WriteRequest.parse(envelope.body, limits: configuration) {
            case .append(var request):
                if let principal = try gatekeeper?.authorize(userId, .writer, for: "append") {
                    request = try request.recordingPrincipal(principal.name)
                }
                cache.forget(request.stream)
                collecting.enqueue(envelope.route, [request], isGenericAppend: true, receivedAt: drainedAt)
            case .command(let command):
                let principal = try gatekeeper?.authorize(userId, .writer, for: "command \(command.name)")
                var appends = try decideStagingFirstIfNeeded(command)
                if let principal { appends = try appends.map { append throws(WireError) in try append.recordingPrincipal(principal.name) } }
                collecting.enqueue(envelope.route, appends, receivedAt: drainedAt)
            case .query(let name):
                try gatekeeper?.authorize(userId, nil, for: "query \(name)")
                collecting.answer(envelope.route, try answer(query: name))
            }
        } catch let error as WireError {
            collecting.fail(envelope.route, error)
        } catch let error as DecisionError {
            collecting.fail(envelope.route, WireError(error))
        } catch let error as EventStoreError {
            collecting.fail(envelope.route, WireError(error))
        } catch let error as ZMQError {
            throw error
        } catch {
            logger.error("decide failed", metadata: ["error": "\(error)"])
            collecting.fail(envelope.route, WireError(.internal, "\(error)"))
        }
    }

    private func decideStagingFirstIfNeeded(_ command: Command) throws -> [AppendRequest] {
        do {
            return try decide(command)
        } catch is StageFirst {
            // Wait for the batch in flight, then stage the collecting one: the stream's state
            // then includes the generic append, read back with the staged events.
            if inFlight != nil { try waitForInFlight() }
            try dispatch()
            return try decide(command)
        }
    }

    private func decide(_ command: Command) throws -> [AppendRequest] {
        let decided = try cache.domain.decide(command) { stream in
            if collecting.touchedByAppend.contains(stream) { throw StageFirst() }
            return try cache.state(of: stream, store: store)
        }
        for decision in decided {
            cache.applyProvisionally(decision)
        }
        // A closure, not `\.append`: in this generic context the key path would be instantiated
        // at run time on every command (6 % of the sequencer's CPU in perf).
        return decided.map { $0.append }
    }

    // MARK: - Committing

    /// Stages the collecting batch and hands it to the committer (only when none is in flight).
    private func dispatch() throws {
        guard !collecting.isEmpty else { return }
        let pending = collecting
        collecting = PendingBatch()
        let staged: StagedBatch
        do {
            staged = try store.stage(pending.requests)
        } catch {
            // Appends are refused (a failed write whose log cannot be reopened yet).
            cache.forgetAll()
            try answer(pending, results: nil, failure: Self.unavailable(error), head: store.headPosition)
            return
        }
        for (index, result) in staged.results.enumerated() {
            if case .failure = result { cache.forget(pending.requests[index].stream) }
        }
        inFlight = (pending, staged)
        try committer.submit(staged)
        let submittedAt = monotonicNanoseconds()
        for receivedAt in pending.receivedAt { statistics.syncWait.record(nanoseconds: submittedAt - receivedAt) }
    }

    private func waitForInFlight() throws {
        var poller = Poller([committer.completion])
        while inFlight != nil {
            if try poller.poll(timeout: -1)[0].readable { try finishInFlight() }
        }
    }

    /// The committer is done with the batch in flight: confirm, reply, publish — or, if it
    /// failed, answer it and everything decided behind it `Unavailable`.
    private func finishInFlight() throws {
        let (_, error, nanoseconds, syncedAt) = try committer.finish()
        guard let (pending, staged) = inFlight else { return }
        inFlight = nil
        statistics.appendNanoseconds += nanoseconds
        statistics.sync.record(nanoseconds: nanoseconds)
        metrics.sync.recordNanoseconds(nanoseconds)
        if let error {
            store.abandon(staged)
            cache.forgetAll()
            statistics.failedCommits += 1
            metrics.groupFailures.increment()
            logger.error("commit failed; appends pause until the log's tail is validated again", metadata: ["error": "\(error.message)"])
            let failure = Self.unavailable(error)
            let behind = collecting
            collecting = PendingBatch()
            try answer(pending, results: nil, failure: failure, head: staged.headBefore)
            try answer(behind, results: nil, failure: failure, head: staged.headBefore)
            return
        }
        statistics.batches += 1
        statistics.eventsAppended += staged.events.count
        metrics.groups.increment()
        metrics.events.increment(by: Int64(staged.events.count))
        metrics.groupRequests.record(pending.count)
        publisher.prepare(after: staged.headBefore, store: store)
        store.confirm(staged)
        // The next group starts syncing before this one is answered and published: the
        // committer is idle from here until it has a batch, and replies cost as much as the sync.
        // A failure to hand it over must not cost this durable group its replies and publishes.
        var handOver: (any Error)?
        do { try dispatch() } catch { handOver = error }
        try answer(pending, results: staged.results, failure: WireError(.internal, "unreachable"), head: staged.headBefore)
        let repliedAt = monotonicNanoseconds()
        for receivedAt in pending.receivedAt { metrics.appendLatency.recordNanoseconds(repliedAt - receivedAt) }
        try publisher.publish(staged.events, syncedAt: syncedAt)
        let publishedAt = wallClockNanoseconds()
        for _ in staged.events { statistics.publish.record(nanoseconds: publishedAt - syncedAt) }
        if let handOver { throw handOver }
    }

    private static func unavailable(_ error: any Error) -> WireError {
        let message = (error as? EventStoreError)?.message ?? "\(error)"
        return WireError(.unavailable, "event store could not commit, nothing of this request was stored: \(message)")
    }

    /// Sends a batch's replies (`PendingBatch.replies`) and counts them. Without
    /// `ZMQ_ROUTER_MANDATORY` a reply to a client that went away is dropped by libzmq, which is
    /// what we want: the event is durable and published all the same.
    private func answer(_ batch: PendingBatch, results: [Result<[RecordedEvent], EventStoreError>]?, failure: WireError, head: Int64) throws {
        var outcomes = RequestOutcomes()
        let replies = batch.replies(results: results, failure: failure, head: head, outcomes: &outcomes)
        metrics.record(outcomes)
        for reply in replies { try unreading.send(reply, on: commands) }
    }

    // MARK: - Queries

    private func answer(query name: String) throws(WireError) -> JSONValue {
        let head = store.headPosition
        switch name {
        case "health":
            if let failure = store.failure {
                return ["ok": true, "position": .int(head), "result": ["status": "appendsRefused", "reason": .string(failure.message)]]
            }
            return ["ok": true, "position": .int(head), "result": ["status": "serving"]]
        case "stats":
            // Computed again only after a group commit or a refusal (its histograms are costly): a
            // client flooding `stats` costs the node a copy of the answer per request.
            let key = (commits: statistics.batches + statistics.failedCommits, refusals: gatekeeper?.refusals ?? .null)
            if let cached = statsAnswer, cached.commits == key.commits, cached.refusals == key.refusals { return cached.answer }
            let answer = stats(head: head, refusals: key.refusals)
            statsAnswer = (key.commits, key.refusals, answer)
            return answer
        default:
            throw WireError(.unknownQuery, "unknown query '\(name)' (the write node answers: health, stats)")
        }
    }

    private func stats(head: Int64, refusals: JSONValue) -> JSONValue {
        let indexed = store.indexedPosition
        let caches = store.cacheCounts
        return [
            "ok": true, "position": .int(head),
            "result": [
                "head": .int(head),
                "requests": .int(Int64(statistics.requests)),
                "batches": .int(Int64(statistics.batches)),
                "eventsAppended": .int(Int64(statistics.eventsAppended)),
                "largestBatch": .int(Int64(statistics.largestBatch)),
                "receives": .int(Int64(statistics.receives)),
                "failedCommits": .int(Int64(statistics.failedCommits)),
                "cachedStreams": .int(Int64(cache.count)),
                "streamHeadsInMemory": .int(Int64(caches.streams)),
                "idWindow": .int(Int64(caches.ids)),
                "indexedPosition": .int(indexed),
                "indexBehind": .int(head - indexed),
                "appendMs": .int(statistics.appendNanoseconds / 1_000_000),
                "batchMs": .int(statistics.batchNanoseconds / 1_000_000),
                "syncWaitUs": statistics.syncWait.summary,
                "syncUs": statistics.sync.summary,
                "publishUs": statistics.publish.summary,
                "refusals": refusals,
            ],
        ]
    }
}

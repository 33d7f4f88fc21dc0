import EventStore
import Logging
import WireProtocol
import ZeroMQ

/// The write node's single writer: receives requests, decides them, appends them with one fsync per
/// batch (group commit), replies, then publishes the new events in position order.
///
/// Owns the command ROUTER, the PUB socket and the event store; runs on its own thread because
/// `zmq_poll` blocks.
final class Sequencer<D: Domain>: @unchecked Sendable {
    private let configuration: WriteNodeConfiguration
    private let commands: Socket
    private let publisher: Socket
    private let store: EventStore
    private var cache: StreamStateCache<D>
    private var categoryHeads: [String: Int64]
    private let logger: Logger
    private(set) var statistics = Statistics()

    struct Statistics {
        var batches = 0
        var requests = 0
        var eventsAppended = 0
        var largestBatch = 0
        /// Time spent in `EventStore.append` (SQLite and fsync), and in whole batches, in ns:
        /// the split between storage and everything else (parse, decide, reply, publish).
        var appendNanoseconds: Int64 = 0
        var batchNanoseconds: Int64 = 0
    }

    init(configuration: WriteNodeConfiguration, domain: D, store: EventStore, commands: Socket, publisher: Socket, logger: Logger) throws {
        self.configuration = configuration
        self.commands = commands
        self.publisher = publisher
        self.store = store
        self.cache = StreamStateCache(domain: domain)
        self.categoryHeads = try store.lastPositionByCategory()
        self.logger = logger
    }

    /// Serves until the context is shut down, then closes both sockets with a bounded linger.
    func run() {
        var poller = Poller([commands])
        let interval = Int64(configuration.heartbeatIntervalMs) * 1_000_000
        var nextHeartbeat = monotonicNanoseconds()
        defer {
            commands.close(linger: configuration.shutdownLingerMs)
            publisher.close(linger: configuration.shutdownLingerMs)
        }
        while true {
            do {
                let now = monotonicNanoseconds()
                if now >= nextHeartbeat {
                    try publishHeartbeat()
                    nextHeartbeat = now + interval
                }
                let wait = Int(max(0, (nextHeartbeat - now) / 1_000_000))
                if try poller.poll(timeout: wait)[0].readable {
                    try processBatch()
                }
            } catch let error as ZMQError where error.isContextTerminated {
                logger.info("command loop stopping")
                return
            } catch {
                // A socket error other than shutdown is a bug or a resource limit; keep serving.
                logger.error("command loop error", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: - One batch

    private enum Outcome {
        case failed(WireError)
        case appended(Range<Int>)
        case answered(JSONValue)
    }

    private struct Pending {
        var route: [[UInt8]]
        var outcome: Outcome
    }

    /// Thrown by a decide-time lookup of a stream that a generic append of this batch has changed:
    /// its state is only known after the commit, so the batch is committed first.
    private struct CommitFirst: Error {}

    private var pending: [Pending] = []
    private var requests: [AppendRequest] = []
    private var touchedByAppend: Set<String> = []

    private func processBatch() throws {
        let started = monotonicNanoseconds()
        defer { statistics.batchNanoseconds += monotonicNanoseconds() - started }
        cache.trimBetweenBatches()
        var received = 0
        while received < configuration.maxBatchRequests, let frames = try commands.receive(dontWait: true) {
            received += 1
            switch RequestEnvelope.split(frames) {
            case .failure(let failure):
                pending.append(Pending(route: failure.route, outcome: .failed(failure.error)))
            case .success(let envelope):
                handle(envelope)
            }
        }
        statistics.largestBatch = max(statistics.largestBatch, received)
        try commit()
    }

    private func handle(_ envelope: RequestEnvelope) {
        statistics.requests += 1
        do {
            switch try WriteRequest.parse(envelope.body, limits: configuration) {
            case .append(let request):
                touchedByAppend.insert(request.stream)
                cache.forget(request.stream)
                enqueue(route: envelope.route, [request])
            case .command(let command):
                enqueue(route: envelope.route, try decideCommittingFirstIfNeeded(command))
            case .query(let name):
                pending.append(Pending(route: envelope.route, outcome: .answered(try answer(query: name))))
            }
        } catch let error as WireError {
            pending.append(Pending(route: envelope.route, outcome: .failed(error)))
        } catch let error as DecisionError {
            pending.append(Pending(route: envelope.route, outcome: .failed(WireError(error))))
        } catch let error as EventStoreError {
            pending.append(Pending(route: envelope.route, outcome: .failed(WireError(.unavailable, "event store: \(error.message)"))))
        } catch {
            logger.error("decide failed", metadata: ["error": "\(error)"])
            pending.append(Pending(route: envelope.route, outcome: .failed(WireError(.internal, "\(error)"))))
        }
    }

    private func decideCommittingFirstIfNeeded(_ command: Command) throws -> [AppendRequest] {
        do {
            return try decide(command)
        } catch is CommitFirst {
            try commit()
            return try decide(command)
        }
    }

    private func decide(_ command: Command) throws -> [AppendRequest] {
        let decided = try cache.domain.decide(command) { stream in
            if touchedByAppend.contains(stream) { throw CommitFirst() }
            return try cache.state(of: stream, store: store)
        }
        for decision in decided {
            cache.applyProvisionally(decision)
        }
        return decided.map(\.append)
    }

    private func enqueue(route: [[UInt8]], _ decided: [AppendRequest]) {
        let start = requests.count
        requests.append(contentsOf: decided)
        pending.append(Pending(route: route, outcome: .appended(start..<requests.count)))
    }

    /// Appends everything pending in one transaction, replies to every client, publishes the new events.
    private func commit() throws {
        defer {
            pending.removeAll(keepingCapacity: true)
            requests.removeAll(keepingCapacity: true)
            touchedByAppend.removeAll(keepingCapacity: true)
        }
        guard !pending.isEmpty else { return }
        let headBefore = store.headPosition
        var results: [Result<[RecordedEvent], EventStoreError>] = []
        var storeFailure: WireError?
        if !requests.isEmpty {
            do {
                let started = monotonicNanoseconds()
                results = try store.append(requests)
                statistics.appendNanoseconds += monotonicNanoseconds() - started
                statistics.batches += 1
            } catch {
                // Nothing was written; provisional states are wrong.
                cache.forgetAll()
                storeFailure = WireError(.unavailable, "event store could not commit: \(error)")
                logger.error("append failed", metadata: ["error": "\(error)"])
            }
        }
        for (index, result) in results.enumerated() {
            if case .failure = result { cache.forget(requests[index].stream) }
        }

        // Only events this batch wrote are published: an idempotent retry returns the original
        // events, which may be from this very batch and must not go out (or move a category head)
        // twice. The heads move before anything is sent, so even a send that fails cannot leave a
        // heartbeat understating them (a filtered feed would then skip what it never received).
        var publications: [[[UInt8]]] = []
        var published = headBefore
        for case .success(let events) in results {
            for event in events where event.position > published {
                published = event.position
                let category = event.category
                let previous = categoryHeads[category] ?? 0
                categoryHeads[category] = event.position
                publications.append(EventFrames.frames(for: event, category: category, previousInCategory: previous))
            }
        }
        statistics.eventsAppended += publications.count

        for item in pending {
            let reply: [UInt8]
            switch item.outcome {
            case .failed(let error): reply = error.reply.jsonBytes
            case .answered(let json): reply = json.jsonBytes
            case .appended(let range):
                if let storeFailure {
                    reply = storeFailure.reply.jsonBytes
                } else {
                    reply = Self.reply(for: results[range], head: headBefore)
                }
            }
            try send(item.route + [reply])
        }
        for frames in publications {
            // PUB never blocks: past the high-water mark it drops, and subscribers backfill.
            try publisher.send(frames, dontWait: true)
        }
    }

    /// Sends a reply. Without `ZMQ_ROUTER_MANDATORY` a reply to a client that went away is dropped
    /// by libzmq, which is what we want: the event is durable and published all the same.
    private func send(_ frames: [[UInt8]]) throws {
        try commands.send(frames, dontWait: true)
    }

    /// `{"events":[…],"ok":true,"position":P}`, written directly: this runs once per request.
    private static func reply(for results: ArraySlice<Result<[RecordedEvent], EventStoreError>>, head: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96)
        out.append(contentsOf: #"{"events":["#.utf8)
        var position = head
        var first = true
        for result in results {
            switch result {
            case .failure(let error):
                return WireError(code(for: error), error.message).reply.jsonBytes
            case .success(let recorded):
                for event in recorded {
                    position = event.position
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    out.append(contentsOf: #"{"position":\#(event.position),"stream":"#.utf8)
                    JSONWriter.writeString(event.stream, into: &out)
                    out.append(contentsOf: #","type":"#.utf8)
                    JSONWriter.writeString(event.type, into: &out)
                    out.append(contentsOf: #","version":\#(event.version)}"#.utf8)
                }
            }
        }
        out.append(contentsOf: #"],"ok":true,"position":\#(position)}"#.utf8)
        return out
    }

    private static func code(for error: EventStoreError) -> ErrorCode {
        switch error.code {
        case .wrongExpectedVersion: .wrongExpectedVersion
        case .invalidArgument, .idempotencyConflict: .invalidArgument
        case .locked, .damaged, .io: .unavailable
        }
    }

    // MARK: - Queries and heartbeats

    private func answer(query name: String) throws(WireError) -> JSONValue {
        switch name {
        case "health":
            return ["ok": true, "position": .int(store.headPosition), "result": ["status": "serving"]]
        case "stats":
            return [
                "ok": true, "position": .int(store.headPosition),
                "result": [
                    "head": .int(store.headPosition),
                    "requests": .int(Int64(statistics.requests)),
                    "batches": .int(Int64(statistics.batches)),
                    "eventsAppended": .int(Int64(statistics.eventsAppended)),
                    "largestBatch": .int(Int64(statistics.largestBatch)),
                    "cachedStreams": .int(Int64(cache.count)),
                    "appendMs": .int(statistics.appendNanoseconds / 1_000_000),
                    "batchMs": .int(statistics.batchNanoseconds / 1_000_000),
                ],
            ]
        default:
            throw WireError(.unknownQuery, "unknown query '\(name)' (the write node answers: health, stats)")
        }
    }

    private func publishHeartbeat() throws {
        let heartbeat = EventFrames.Heartbeat(
            head: store.headPosition, sentAt: wallClockNanoseconds(), categoryHeads: categoryHeads)
        try publisher.send(heartbeat.frames, dontWait: true)
    }
}

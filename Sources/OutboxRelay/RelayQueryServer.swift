import EventModel
import Foundation
import JSON
import Logging
import PostgresStore
import ProjectionRuntime
import Security
import WireProtocol
import ZeroMQ

/// The relay's query endpoint, on a thread of its own so that it answers while the relay thread
/// waits for PostgreSQL or the write node: `health`, `stats` and `positionOf`, in a projector's
/// request framing (`QueryRequest`: `{"query", "params", "timeoutMs"}`).
///
/// `positionOf {"id"}` answers an outbox row's log position once the write node stored it: from
/// the last `recentPositions` relayed ids kept in memory, else, while the row still waits in the
/// source, by waiting up to `timeoutMs` for it (then `NotYetRelayed`). An older id is looked for
/// in the log when the request names its stream (`params.stream`); a parked one is `Rejected`
/// with the reason.
final class RelayQueryServer {
    static let queryNames = ["health", "stats", "positionOf"]

    let boundEndpoint: String
    private let socket: Socket
    private let wake: Socket
    private let configuration: RelayConfiguration
    private let status: RelayStatus
    private let source: any ChangeSource
    private let lookup: PostgresSession
    /// The write node's catch-up endpoint, for ids asked with their stream; open while `run` runs
    /// (its socket must be closed before the context can end).
    private var streams: StreamReader?
    private let context: Context
    private let logger: Logger
    private var unreading = UnreadingClients()
    private var waiting: [Waiting] = []

    /// A `positionOf` whose row still waits in the source.
    private struct Waiting {
        var route: [[UInt8]]
        var id: UUID
        var deadline: Int64
        var timeoutMs: Int
    }

    /// Where the relay thread says that positions were stored (`inproc`, PAIR).
    static func wakeEndpoint(_ context: Context) -> String {
        "inproc://prism-relay-wake-\(ObjectIdentifier(context).hashValue)"
    }

    init(context: Context, configuration: RelayConfiguration, status: RelayStatus, source: any ChangeSource, logger: Logger) throws {
        self.configuration = configuration
        self.status = status
        self.source = source
        self.logger = logger
        lookup = PostgresSession(url: configuration.postgresURL, startupParameters: [("application_name", "prism-outbox-relay-queries")], logger: logger)
        self.context = context
        do {
            socket = try QuerySocket.bind(
                configuration.queryEndpoint, context: context, security: configuration.security,
                maxRequestBytes: configuration.maxRequestBytes, queuePerConnection: configuration.queuePerConnection)
        } catch let error as QuerySocket.BindFailure {
            throw RelayError(error.message)
        }
        boundEndpoint = try socket.lastEndpoint
        wake = try Socket(context, .pair)
        try wake.bind(Self.wakeEndpoint(context))
    }

    /// Serves until the context is shut down.
    func run() {
        streams = StreamReader(
            context: context, endpoint: configuration.catchUpEndpoint, curve: configuration.writeNodeKeys, timeoutMs: configuration.writeNodeTimeoutMs)
        defer {
            streams = nil
            socket.close(linger: 1000)
            wake.close(linger: 0)
            lookup.close()
        }
        var poller = Poller([socket, wake])
        do {
            while true {
                let ready = try poller.poll(timeout: pollTimeout())
                if ready[1].readable { while try wake.receive(dontWait: true) != nil {} }
                try answerWaiting()
                guard ready[0].readable else { continue }
                // A bounded pass, so that the waiting ones are looked at again between floods.
                for _ in 0..<64 {
                    guard let message = try socket.receiveMessage(dontWait: true) else { break }
                    if unreading.turnsAway(message.frames) { continue }
                    try serve(message)
                }
            }
        } catch let error as ZMQError where error.isContextTerminated {
            return
        } catch {
            logger.critical("the relay's query endpoint failed", metadata: ["error": "\(error)"])
        }
    }

    private func pollTimeout() -> Int {
        guard let next = waiting.map(\.deadline).min() else { return 1000 }
        return Int(max(0, min(1000, (next - monotonicNanoseconds()) / 1_000_000 + 1)))
    }

    private func serve(_ message: Socket.ReceivedMessage) throws {
        switch RequestEnvelope.split(message.frames) {
        case .failure(let failure):
            try reply(failure.route, failure.error.reply)
        case .success(let envelope):
            do {
                let request = try QueryRequest.parse(
                    envelope.body, maxRequestBytes: configuration.maxRequestBytes, maxQueryWaitMs: configuration.maxQueryWaitMs)
                try configuration.security?.gatekeeper.authorize(message.userId, .reader, for: "query \(request.name.prefix(64))")
                guard request.minPosition == 0 else {
                    throw WireError(.invalidArgument, "minPosition is not taken by the relay (positionOf waits for its row with timeoutMs)")
                }
                switch request.name {
                case "health": try reply(envelope.route, answer(status.health(name: "outbox-relay", source: source.name)))
                case "stats": try reply(envelope.route, answer(stats()))
                case "positionOf": try positionOf(request, route: envelope.route)
                default:
                    throw WireError(.unknownQuery, "unknown query '\(request.name.prefix(64))' (the relay answers: \(Self.queryNames.joined(separator: ", ")))")
                }
            } catch let error as WireError {
                try reply(envelope.route, error.reply)
            }
        }
    }

    private func answer(_ result: JSONValue) -> JSONValue {
        ["ok": true, "position": .int(status.lastPosition), "result": result]
    }

    private func stats() -> JSONValue {
        guard case .object(var members) = status.stats(name: "outbox-relay", source: source.name) else { return .null }
        members["waitingQueries"] = .int(Int64(waiting.count))
        if let gatekeeper = configuration.security?.gatekeeper { members["refusals"] = gatekeeper.refusals }
        return .object(members)
    }

    private func found(_ id: UUID, _ position: Int64) -> JSONValue {
        answer(["id": .string(id.lowercasedText), "position": .int(position)])
    }

    private func positionOf(_ request: QueryRequest, route: [[UInt8]]) throws {
        let params = try FieldReader(request.params, path: "params")
        let idText = try params.string("id")
        guard let id = UUID.parse(idText) else { throw WireError(.invalidArgument, "params.id must be a UUID, got \"\(idText.prefix(80))\"") }
        let stream = try params.optionalString("stream")
        if let position = status.position(of: id) {
            try reply(route, found(id, position))
            return
        }
        let waitsInSource: Bool?
        do {
            waitsInSource = try source.isWaiting(id, session: lookup)
        } catch {
            throw WireError(.unavailable, "cannot look for \(id.lowercasedText) in PostgreSQL: \(error)")
        }
        // Stored between the two looks: the relay records positions before it deletes rows.
        if let position = status.position(of: id) {
            try reply(route, found(id, position))
            return
        }
        if waitsInSource != false {
            guard request.timeoutMs > 0 else { throw notYetRelayed(id, waitedMs: 0) }
            guard waiting.count < configuration.maxWaitingQueries else {
                throw WireError(.unavailable, "\(waiting.count) positionOf queries are already waiting; try again later")
            }
            waiting.append(Waiting(route: route, id: id, deadline: monotonicNanoseconds() + Int64(request.timeoutMs) * 1_000_000, timeoutMs: request.timeoutMs))
            return
        }
        try reply(route, try notWaiting(id, stream: stream))
    }

    /// The answer for an id that is neither in memory nor waiting in the source.
    private func notWaiting(_ id: UUID, stream: String?) throws(WireError) -> JSONValue {
        let reason: String?
        do {
            reason = try RelayDatabase.deadLetterReason(of: id, in: lookup)
        } catch {
            throw WireError(.unavailable, "cannot look for \(id.lowercasedText) in PostgreSQL: \(error)")
        }
        if let reason { throw WireError(.rejected, "\(id.lowercasedText) was parked in prism_outbox_dead_letter: \(reason)") }
        guard let stream else {
            throw WireError(.invalidArgument, "\(id.lowercasedText) does not wait in the \(source.name) and is not among the last "
                + "\(configuration.recentPositions) relayed ids; give params.stream to look for it in the log")
        }
        if let problem = StreamName.problem(with: stream) { throw WireError(.invalidArgument, "params.stream: \(problem)") }
        let events: [RecordedEvent]
        do {
            events = try streams?.read(stream: stream, fromVersion: 0) ?? []
        } catch {
            throw WireError(.unavailable, "\(error)")
        }
        guard let event = events.first(where: { $0.id == id }) else {
            throw WireError(.invalidArgument, "\(id.lowercasedText) is not in stream \(stream), nor waiting in the \(source.name)")
        }
        return found(id, event.position)
    }

    private func notYetRelayed(_ id: UUID, waitedMs: Int) -> WireError {
        WireError(.notYetRelayed, "\(id.lowercasedText) is not yet in the log after waiting \(waitedMs) ms")
    }

    /// Answers the waiting `positionOf`s whose rows are stored now, and those out of time.
    private func answerWaiting() throws {
        guard !waiting.isEmpty else { return }
        let now = monotonicNanoseconds()
        var still: [Waiting] = []
        for query in waiting {
            if let position = status.position(of: query.id) {
                try reply(query.route, found(query.id, position))
            } else if now >= query.deadline {
                do {
                    // Parked while it waited, or gone some other way: say so rather than "not yet".
                    let waits = try source.isWaiting(query.id, session: lookup)
                    try reply(query.route, waits == false ? notWaiting(query.id, stream: nil) : notYetRelayed(query.id, waitedMs: query.timeoutMs).reply)
                } catch let error as WireError {
                    try reply(query.route, error.reply)
                } catch {
                    try reply(query.route, notYetRelayed(query.id, waitedMs: query.timeoutMs).reply)
                }
            } else {
                still.append(query)
            }
        }
        waiting = still
    }

    private func reply(_ route: [[UInt8]], _ body: JSONValue) throws(ZMQError) {
        try unreading.send(route + [body.jsonBytes], on: socket)
    }
}

/// Why a relay could not start.
public struct RelayError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

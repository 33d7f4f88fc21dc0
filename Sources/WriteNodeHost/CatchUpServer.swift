import EventStore
import Logging
import Security
import WireProtocol
import ZeroMQ

/// Serves "events after position N" from the store, on its own ROUTER socket and thread,
/// reading durable events only (the index, the segments, and the groups not indexed yet), so
/// catch-up never delays the writer.
final class CatchUpServer: @unchecked Sendable {
    private let socket: Socket
    private let store: EventStore
    private let configuration: WriteNodeConfiguration
    private let logger: Logger
    /// Readers that leave their replies unread: their requests are dropped, the log not read, for a while.
    private var unreading = UnreadingClients()

    init(socket: Socket, store: EventStore, configuration: WriteNodeConfiguration, logger: Logger) {
        self.socket = socket
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until the context is shut down.
    func run() {
        defer { socket.close(linger: configuration.shutdownLingerMs) }
        // A reader asking for the whole log again and again must not slow the commands down.
        lowerCurrentThreadPriority(by: 5)
        while true {
            do {
                guard let message = try socket.receiveMessage() else { continue }
                if unreading.turnsAway(message.frames) { continue }
                try unreading.send(reply(to: message.frames, userId: message.userId), on: socket)
            } catch {
                if error.isContextTerminated { return }
                logger.error("catch-up loop error", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The records a log read asks for, as stored, and the summary of what they cover.
    private func readLog(_ request: CatchUp.Request) throws -> (EventRecords, CatchUp.Summary) {
        let head = store.headPosition
        guard request.after <= head else {
            throw WireError(.invalidArgument, "after \(request.after) is beyond the head position \(head)")
        }
        let records = try store.readRecords(
            after: request.after, limit: request.limit, maxBytes: CatchUp.maxBinaryReplyBytes, filter: request.filter)
        // The head was read first, so every event up to it is in this (later) snapshot: unless the
        // reply is cut by its limit or size, a filtered reader has seen everything up to the head.
        let last = records.lastPosition ?? request.after
        let scannedTo = records.isFull ? last : max(head, last)
        return (records, CatchUp.Summary(head: max(head, last), count: records.count, scannedTo: scannedTo))
    }

    private func reply(to frames: [[UInt8]], userId: String?) -> [[UInt8]] {
        let envelope: RequestEnvelope
        switch RequestEnvelope.split(frames) {
        case .failure(let failure): return failure.route + [failure.error.reply.jsonBytes]
        case .success(let value): envelope = value
        }
        do {
            try configuration.security?.gatekeeper.authorize(userId, .projector, for: "catch-up")
            if envelope.body.count > configuration.maxRequestBytes {
                throw WireError(.tooLarge, "request is \(envelope.body.count) bytes, more than \(configuration.maxRequestBytes)")
            }
            let events: [RecordedEvent]
            let summary: CatchUp.Summary
            switch try CatchUp.parse(envelope.body, maxLimit: configuration.maxCatchUpEvents) {
            case .log(let request):
                let records: EventRecords
                (records, summary) = try readLog(request)
                if request.format == .binary {
                    // Sent as stored: no event is decoded or encoded on the way.
                    return envelope.route + [summary.json.jsonBytes, records.bytes]
                }
                events = try EventRecord.decodeAll(records.bytes, count: records.count)
            case .stream(let request):
                let head = store.headPosition
                events = try store.readStream(request.stream, fromVersion: request.fromVersion, limit: request.limit)
                summary = CatchUp.Summary(head: head, count: events.count, scannedTo: head)
            }
            var reply = envelope.route
            reply.reserveCapacity(reply.count + 1 + events.count)
            reply.append(summary.json.jsonBytes)
            for event in events { reply.append(EventFrames.body(of: event)) }
            return reply
        } catch let error as WireError {
            return envelope.reply(error.reply.jsonBytes)
        } catch {
            logger.error("catch-up read failed", metadata: ["error": "\(error)"])
            return envelope.reply(WireError(.unavailable, "event store read failed: \(error)").reply.jsonBytes)
        }
    }
}

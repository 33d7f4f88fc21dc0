import EventModel
import Foundation
import JSON
import WireProtocol
import ZeroMQ

/// The write node as the relay thread talks to it: generic appends, pipelined on one DEALER of
/// the command endpoint (the write node answers one connection's requests in order and commits
/// them in that order), and stream reads on the catch-up endpoint.
///
/// A request not answered within the timeout drops the socket (a late reply can never be taken
/// for the next request's); its outcome is unknown, and the relay re-sends it with the same ids
/// and expected version, which the write node answers with the original positions.
final class WriteNodeLink {
    private let context: Context
    private let commandEndpoint: String
    private let curve: CurveClientKeys?
    private let timeoutMs: Int
    private var socket: Socket?
    private let streams: StreamReader

    init(context: Context, commandEndpoint: String, catchUpEndpoint: String, curve: CurveClientKeys?, timeoutMs: Int) {
        self.context = context
        self.commandEndpoint = commandEndpoint
        self.curve = curve
        self.timeoutMs = timeoutMs
        streams = StreamReader(context: context, endpoint: catchUpEndpoint, curve: curve, timeoutMs: timeoutMs)
    }

    deinit { socket?.close(linger: 0) }

    /// One append as the write node answered it.
    enum Outcome {
        /// Stored (now or before): each event's position, and the stream's last version.
        case stored(positions: [Int64], lastVersion: Int64)
        case refused(WireError)
    }

    /// Sends every append, then takes their replies in order.
    ///
    /// - Throws: `WriteNodeFailure` when a reply does not come within the timeout or is not one.
    func append(_ runs: [AppendRun]) throws -> [Outcome] {
        let replies = try exchange(runs.map(\.requestBody))
        return try zip(runs, replies).map { run, reply in try Self.outcome(of: reply, count: run.events.count) }
    }

    /// Asks the write node's `health`.
    ///
    /// - Throws: `WriteNodeFailure` when it does not answer, or answers that it refuses appends.
    func health() throws {
        let request: JSONValue = ["query": "health"]
        let body = try exchange([request.jsonBytes])[0]
        let reply = try? JSONParser.parse(body)
        guard reply?["ok"] == .bool(true), let status = reply?["result"]?["status"]?.stringValue else {
            throw WriteNodeFailure("the write node at \(commandEndpoint) answers health with \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        guard status == "serving" else {
            throw WriteNodeFailure("the write node at \(commandEndpoint) is \(status): \(reply?["result"]?["reason"]?.stringValue ?? "")")
        }
    }

    /// Sends the requests on the one DEALER and returns their reply bodies in order.
    private func exchange(_ bodies: [[UInt8]]) throws -> [[UInt8]] {
        guard !bodies.isEmpty else { return [] }
        let socket = try connected()
        do {
            for body in bodies { _ = try socket.send([[], body]) }
            var replies: [[UInt8]] = []
            var poller = Poller([socket])
            let deadline = monotonicNanoseconds() + Int64(timeoutMs) * 1_000_000
            while replies.count < bodies.count {
                guard let frames = try socket.receive(dontWait: true) else {
                    let left = (deadline - monotonicNanoseconds()) / 1_000_000
                    guard left > 0 else { throw WriteNodeFailure("no reply from the write node at \(commandEndpoint) within \(timeoutMs) ms") }
                    _ = try poller.poll(timeout: Int(left))
                    continue
                }
                replies.append(frames.last ?? [])
            }
            return replies
        } catch let error as ZMQError where error.isContextTerminated {
            throw error
        } catch {
            abandon()
            if let failure = error as? WriteNodeFailure { throw failure }
            throw WriteNodeFailure("the write node at \(commandEndpoint): \(error)")
        }
    }

    /// Every event of `stream` from `fromVersion` on.
    func read(stream: String, fromVersion: Int64) throws -> [RecordedEvent] {
        try streams.read(stream: stream, fromVersion: fromVersion)
    }

    private static func outcome(of body: [UInt8], count: Int) throws -> Outcome {
        let reply: JSONValue
        do { reply = try JSONParser.parse(body) } catch { throw WriteNodeFailure("the write node's reply is not JSON: \(error)") }
        if reply["ok"] == .bool(false) { return .refused(WireError(reply: reply)) }
        guard let events = reply["events"]?.arrayValue, events.count == count,
              let lastVersion = events.last?["version"]?.intValue
        else { throw WriteNodeFailure("the write node's append reply has no event per event sent: \(reply.jsonString.prefix(200))") }
        let positions = events.compactMap { $0["position"]?.intValue }
        guard positions.count == count else { throw WriteNodeFailure("the write node's append reply lacks positions") }
        return .stored(positions: positions, lastVersion: lastVersion)
    }

    private func connected() throws -> Socket {
        if let socket { return socket }
        do {
            let fresh = try Socket(context, .dealer)
            try fresh.setLinger(0)
            try fresh.makeCurveClient(ifGiven: curve)
            try fresh.connect(commandEndpoint)
            socket = fresh
            return fresh
        } catch {
            throw WriteNodeFailure("cannot connect to the write node at \(commandEndpoint): \(error)")
        }
    }

    private func abandon() {
        socket?.close(linger: 0)
        socket = nil
    }
}

/// Consecutive events of one stream appended in one request with the stream's exact expected version.
struct AppendRun {
    var stream: String
    var expected: ExpectedVersion
    var events: [RelayEvent]

    /// `{"append": {"stream", "expectedVersion", "events": [{"id", "type", "data", "metadata"}]}}` (docs/PROTOCOL.md §2.2).
    var requestBody: [UInt8] {
        let expectedJSON: JSONValue = switch expected {
        case .exact(let version): .int(version)
        case .noStream: "noStream"
        case .any: "any"
        }
        let request: JSONValue = ["append": [
            "stream": .string(stream), "expectedVersion": expectedJSON,
            "events": .array(events.map { event in
                var members: [String: JSONValue] = ["id": .string(event.id.lowercasedText), "type": .string(event.type), "data": event.data]
                if let metadata = event.metadata { members["metadata"] = metadata }
                return .object(members)
            }),
        ]]
        return request.jsonBytes
    }
}

/// Reads one stream from the write node's catch-up endpoint (`{"stream", "fromVersion", "limit"}`,
/// docs/PROTOCOL.md §4), a page at a time.
struct StreamReader {
    private let client: RequestClient
    private let endpoint: String
    private let timeoutMs: Int
    static let pageSize = 1000

    init(context: Context, endpoint: String, curve: CurveClientKeys?, timeoutMs: Int) {
        client = RequestClient(context, endpoint: endpoint, curve: curve)
        self.endpoint = endpoint
        self.timeoutMs = timeoutMs
    }

    /// - Throws: `WriteNodeFailure` when the write node does not answer or refuses.
    func read(stream: String, fromVersion: Int64) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        var next = fromVersion
        while true {
            let request = CatchUp.StreamRequest(stream: stream, fromVersion: next, limit: Self.pageSize)
            let frames: [[UInt8]]
            do {
                frames = try client.request(request.json.jsonBytes, timeout: timeoutMs)
            } catch {
                throw WriteNodeFailure("reading stream \(stream) from the write node at \(endpoint): \(error)")
            }
            do {
                let summary = try CatchUp.Summary(body: frames.first ?? [])
                let page = try frames.dropFirst().map { body throws(WireError) in try EventFrames.decodeBody(body) }
                events += page
                guard summary.count == Self.pageSize, let last = page.last else { return events }
                next = last.version + 1
            } catch {
                throw WriteNodeFailure("reading stream \(stream) from the write node at \(endpoint): \(error)")
            }
        }
    }
}

/// The write node cannot be reached, does not answer in time, or refuses the relay as a whole
/// (`Unavailable`, `Forbidden`): the batch waits and is tried again.
struct WriteNodeFailure: Error, Sendable, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

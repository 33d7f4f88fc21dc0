import EventModel
import Foundation
import JSON
import WireProtocol

/// Appends a batch to the write node with exact expected versions, so that each event is stored
/// once however often it is sent.
///
/// The fast path: the batch in runs of consecutive events of one stream, each run one append
/// expecting the version the relay recorded for its stream (`noStream` for a stream it never
/// wrote), all pipelined in the batch's order. A run the write node refuses goes to the slow
/// path, one event at a time: the stream is read from the log to learn its real version and which
/// of the events are there already (a crash after the write node's acknowledgement and before the
/// source's: they are taken with their stored positions, not appended again); the others are
/// appended at the real version. An event the write node refuses for itself (`InvalidArgument`,
/// `TooLarge`) becomes a dead letter and the stream's later events go on.
struct BatchAppender {
    /// Most events in one append (the write node's limit, docs/PROTOCOL.md §2.2).
    static let maxEventsPerAppend = 1000
    /// Most bytes of event JSON in one append, well under the write node's 1 MiB request limit.
    static let maxBytesPerAppend = 512 << 10
    /// How often one event's append is retried after the stream moved under it.
    static let maxResolves = 3

    let link: WriteNodeLink
    /// Largest data + metadata accepted, as the write node's `--max-event-bytes`.
    let maxEventBytes: Int

    /// What a batch cost beyond its events, for `stats`.
    struct Work {
        var appends = 0
        /// Runs that took the slow path (the stream read from the log).
        var resolved = 0
    }

    /// - Parameter recorded: each stream's version as `prism_relay_streams` has it.
    /// - Throws: `WriteNodeFailure` when the write node cannot take the batch now.
    func append(_ batch: SourceBatch, recorded: [String: Int64], work: inout Work) throws -> RelayedBatch {
        var deadLetters = batch.deadLetters
        var sendable: [(event: RelayEvent, bytes: Int)] = []
        for event in batch.events {
            let bytes = event.data.jsonBytes.count + (event.metadata?.jsonBytes.count ?? 0)
            if let problem = problem(with: event, bytes: bytes) {
                deadLetters.append(DeadLetter(event: event, reason: problem))
            } else {
                sendable.append((event, bytes))
            }
        }
        var versions = recorded
        let runs = Self.runs(of: sendable, expecting: &versions)
        work.appends += runs.count
        let outcomes = try link.append(runs)
        var positions: [UUID: Int64] = [:]
        // Each stream's real version as the replies tell it (the guesses in `versions` were optimistic).
        var stored = recorded
        var slowPath: [(stream: String, events: [RelayEvent])] = []
        for (run, outcome) in zip(runs, outcomes) {
            switch outcome {
            case .stored(let runPositions, let lastVersion):
                for (event, position) in zip(run.events, runPositions) { positions[event.id] = position }
                stored[run.stream] = lastVersion
            case .refused(let error):
                if let wholeRelay = Self.refusalOfTheRelay(error) { throw WriteNodeFailure("the write node refused the relay's append: \(wholeRelay)") }
                if let index = slowPath.firstIndex(where: { $0.stream == run.stream }) {
                    slowPath[index].events += run.events
                } else {
                    slowPath.append((run.stream, run.events))
                }
            }
        }
        for (stream, events) in slowPath {
            work.resolved += 1
            stored[stream] = try appendOneByOne(events, to: stream, after: stored[stream], positions: &positions, deadLetters: &deadLetters)
        }
        let streamVersions = stored.filter { recorded[$0.key] != $0.value }
        return RelayedBatch(batch: batch, positions: positions, streamVersions: streamVersions, deadLetters: deadLetters)
    }

    /// Why the relay parks `event` without sending it: a stream name the write node cannot take, or
    /// data that would make the request too large to answer.
    /// - Parameter bytes: the size of the event's data and metadata as JSON.
    private func problem(with event: RelayEvent, bytes: Int) -> String? {
        if let problem = StreamName.problem(with: event.stream) { return "invalid stream: \(problem)" }
        if bytes > maxEventBytes { return "event is \(bytes) bytes of data and metadata, more than the limit of \(maxEventBytes)" }
        return nil
    }

    /// Splits events into runs of one stream, each expecting the version the one before leaves.
    ///
    /// - Parameter events: each with the size of its data and metadata; a run stays under
    ///   `maxBytesPerAppend` counting 200 bytes more per event for its id, type and punctuation.
    static func runs(of events: [(event: RelayEvent, bytes: Int)], expecting versions: inout [String: Int64]) -> [AppendRun] {
        var runs: [AppendRun] = []
        var runBytes = 0
        for (event, dataBytes) in events {
            let bytes = dataBytes + 200
            if var last = runs.last, last.stream == event.stream, last.events.count < maxEventsPerAppend, runBytes + bytes <= maxBytesPerAppend {
                last.events.append(event)
                runs[runs.count - 1] = last
                runBytes += bytes
            } else {
                let expected: ExpectedVersion = versions[event.stream].map { .exact($0) } ?? .noStream
                runs.append(AppendRun(stream: event.stream, expected: expected, events: [event]))
                runBytes = bytes
            }
            versions[event.stream] = (versions[event.stream] ?? -1) + 1
        }
        return runs
    }

    /// A refusal that is not about the events: the whole batch waits (`Forbidden`: the relay's key
    /// lacks the writer role; `Unavailable`: the write node refuses appends for now).
    private static func refusalOfTheRelay(_ error: WireError) -> WireError? {
        [.forbidden, .unavailable, .internal, .malformed].contains(error.code) ? error : nil
    }

    /// The slow path for one stream's events.
    ///
    /// - Parameter after: the version the relay believes the stream has.
    /// - Returns: the stream's version after the events (nil if it still has none).
    private func appendOneByOne(
        _ events: [RelayEvent], to stream: String, after believed: Int64?,
        positions: inout [UUID: Int64], deadLetters: inout [DeadLetter]
    ) throws -> Int64? {
        var (version, inLog) = try streamState(stream, after: believed)
        for event in events {
            if let position = inLog[event.id] {
                positions[event.id] = position
                continue
            }
            var tries = 0
            while true {
                let run = AppendRun(stream: stream, expected: version.map { .exact($0) } ?? .noStream, events: [event])
                guard let outcome = try link.append([run]).first else { throw WriteNodeFailure("the write node answered no append") }
                switch outcome {
                case .stored(let runPositions, let lastVersion):
                    positions[event.id] = runPositions[0]
                    version = lastVersion
                case .refused(let error) where error.code == .wrongExpectedVersion:
                    // Another writer moved the stream meanwhile (or the event went in after all).
                    tries += 1
                    guard tries < Self.maxResolves else {
                        throw WriteNodeFailure("stream \(stream) keeps moving under the relay: \(error.message)")
                    }
                    (version, inLog) = try streamState(stream, after: version)
                    if let position = inLog[event.id] { positions[event.id] = position } else { continue }
                case .refused(let error) where error.code == .invalidArgument || error.code == .tooLarge:
                    deadLetters.append(DeadLetter(event: event, reason: "the write node refused it: \(error)"))
                case .refused(let error):
                    throw WriteNodeFailure("the write node refused the relay's append: \(error)")
                }
                break
            }
        }
        return version
    }

    /// The stream's last version in the log and the positions of its events from `believed` on
    /// (the whole stream when the log has nothing there: it is shorter than the relay believed).
    private func streamState(_ stream: String, after believed: Int64?) throws -> (version: Int64?, positions: [UUID: Int64]) {
        var events = try link.read(stream: stream, fromVersion: believed ?? 0)
        if events.isEmpty, let believed, believed > 0 { events = try link.read(stream: stream, fromVersion: 0) }
        var positions: [UUID: Int64] = [:]
        for event in events { positions[event.id] = event.position }
        return (events.last?.version, positions)
    }
}

import EventStore
import WireProtocol

/// The requests of one group commit, as the sequencer decides them: who is waiting for what,
/// and the appends to stage. Pure (no sockets, no store), so its replies can be tested alone.
struct PendingBatch {
    enum Outcome: Equatable {
        /// Answered with this error whatever the commit does (a malformed request, a rejected command).
        case failed(WireError)
        /// Answered from the results of `requests[range]` once the group is durable.
        case appended(Range<Int>)
        /// A query answered when the batch is (so replies keep their order).
        case answered(JSONValue)
    }

    struct Pending {
        var route: [[UInt8]]
        var outcome: Outcome
    }

    private(set) var pending: [Pending] = []
    private(set) var requests: [AppendRequest] = []
    /// Streams a generic append of this batch changes: their state is known only once staged.
    private(set) var touchedByAppend: Set<String> = []
    /// When each appending request was read off the command socket, monotonic ns (for `syncWaitUs`).
    private(set) var receivedAt: [Int64] = []

    /// Requests of this batch per connection (its ROUTER routing id).
    private var perConnection: [[UInt8]: Int] = [:]
    /// Whether one connection has taken its share of this batch (`noteRequest`).
    private(set) var connectionShareTaken = false

    var isEmpty: Bool { pending.isEmpty }
    var count: Int { pending.count }

    /// Counts a request of `connection`; at `share` the batch is closed to more requests, so one
    /// client flooding the node adds at most `share` requests to the batch another client waits on
    /// (the ROUTER reads waiting connections in turn, so theirs are in already).
    mutating func noteRequest(from connection: [UInt8], share: Int) {
        let count = perConnection[connection, default: 0] + 1
        perConnection[connection] = count
        if count >= share { connectionShareTaken = true }
    }

    mutating func fail(_ route: [[UInt8]], _ error: WireError) {
        pending.append(Pending(route: route, outcome: .failed(error)))
    }

    mutating func answer(_ route: [[UInt8]], _ reply: JSONValue) {
        pending.append(Pending(route: route, outcome: .answered(reply)))
    }

    /// Queues the appends one request needs (a command may need several, a generic append one).
    mutating func enqueue(_ route: [[UInt8]], _ appends: [AppendRequest], isGenericAppend: Bool = false, receivedAt: Int64) {
        let start = requests.count
        self.receivedAt.append(receivedAt)
        requests.append(contentsOf: appends)
        if isGenericAppend { appends.forEach { touchedByAppend.insert($0.stream) } }
        pending.append(Pending(route: route, outcome: .appended(start..<requests.count)))
    }

    /// One reply per waiting request, in arrival order, each as its full multipart message.
    /// - Parameters:
    ///   - results: the store's result for each of `requests`, or nil when the group failed.
    ///   - failure: what requests answered from the group are told when it failed.
    ///   - head: the durable head before the group (the position of a command that appended nothing).
    ///   - outcomes: counts each reply (for the metrics), as it is written.
    func replies(results: [Result<[RecordedEvent], EventStoreError>]?, failure: WireError, head: Int64, outcomes: inout RequestOutcomes) -> [[[UInt8]]] {
        pending.map { item in
            let answer: Result<[UInt8], WireError>
            switch item.outcome {
            case .failed(let error): answer = .failure(error)
            case .answered(let json): answer = .success(json.jsonBytes)
            case .appended(let range):
                answer = results.map { Self.reply(for: $0[range], head: head) } ?? .failure(failure)
                if case .success = answer { outcomes.appended += 1 }
            }
            switch answer {
            case .success(let reply):
                outcomes.succeeded += 1
                return item.route + [reply]
            case .failure(let error):
                outcomes.failed[error.code, default: 0] += 1
                return item.route + [error.reply.jsonBytes]
            }
        }
    }

    /// `{"events":[…],"ok":true,"position":P}`, written directly: this runs once per request.
    /// The first failed append of a command answers for all of it (nothing of a failed command
    /// is stored: its appends are to one stream, or checked together by the domain).
    static func reply(for results: ArraySlice<Result<[RecordedEvent], EventStoreError>>, head: Int64) -> Result<[UInt8], WireError> {
        var position = head
        var reply = JSONObjectWriter(capacity: 96)
        var failure: WireError?
        reply.value("events") { out in
            out.append(UInt8(ascii: "["))
            for result in results {
                let recorded: [RecordedEvent]
                switch result {
                case .failure(let error):
                    failure = WireError(error)
                    return
                case .success(let events): recorded = events
                }
                for event in recorded {
                    position = event.position
                    if out.last != UInt8(ascii: "[") { out.append(UInt8(ascii: ",")) }
                    var summary = JSONObjectWriter(appendingTo: &out)
                    summary.int("position", event.position)
                    summary.string("stream", event.stream)
                    summary.string("type", event.type)
                    summary.int("version", event.version)
                    out = summary.finish()
                }
            }
            out.append(UInt8(ascii: "]"))
        }
        if let failure { return .failure(failure) }
        reply.value("ok", true)
        reply.int("position", position)
        return .success(reply.finish())
    }
}

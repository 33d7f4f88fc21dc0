import EventStore
import Foundation
import TestSupport
import Testing
import WireProtocol
import ZeroMQ

/// `kill -9` of a write node under concurrent multi-event appends loses no acknowledged event,
/// writes no append by halves, leaves the log gap-free, and the node serves again on the same directory.
@Suite(.serialized) struct CrashSafetyTests {
    static let clients = 8
    static let eventsPerAppend = 3

    /// The write node is killed right after the k-th acknowledged append, while the other clients
    /// are still waiting for theirs.
    @Test(arguments: [1, 50, 500, 2000])
    func killedNodeKeepsEveryAcknowledgedAppendWhole(killAfter acknowledgements: Int) throws {
        try withTemporaryDirectory("prism-crash") { path in
            let node = WriteNodeProcess(workDirectory: URL(fileURLWithPath: path))
            try node.start()
            let load = AppendLoad(endpoint: node.commandEndpoint, clients: Self.clients, eventsPerAppend: Self.eventsPerAppend)
            load.start()
            let reached = waitUntil(timeout: .seconds(60)) { load.acknowledged >= acknowledgements }
            node.kill()
            load.stop()
            #expect(load.waitForClients(timeout: 10), "client threads did not stop after the node died")
            try #require(reached, "only \(load.acknowledged) appends were acknowledged within 60 s")
            #expect(load.failures.isEmpty, "unexpected replies: \(load.failures.prefix(3))")

            let head = try checkStore(node.dataDirectory.path, after: load.sent)
            let sent = load.sent
            print("kill -9 after \(acknowledgements): \(load.acknowledged) appends acknowledged, \(sent.count) sent, head \(head)"
                + " (\(Int(head) / Self.eventsPerAppend - load.acknowledged) unacknowledged appends survived)")

            // The same directory serves again: the next append follows the recovered head.
            try node.start()
            let client = try WriteNodeClient(endpoint: node.commandEndpoint)
            let reply = try client.send(appendRequest(stream: "crash-after-restart", ids: [UUID()]))
            #expect(reply.isOK, "append after restart: \(reply)")
            #expect(reply["position"]?.intValue == head + 1)
            #expect(node.stop() == 0)
        }
    }

    /// Checks the store left by the crash against what the clients sent; returns its head.
    private func checkStore(_ directory: String, after sent: [SentAppend]) throws -> Int64 {
        let store = try EventStore(directory: directory)
        defer { try? store.close() }
        let report = try StoreVerifier.verify(directory: directory)
        #expect(report.isSound, "verify: \(report.problems)")
        let head = store.headPosition
        var events: [RecordedEvent] = []
        while true {
            let page = try store.read(after: events.last?.position ?? 0, limit: 10_000)
            if page.isEmpty { break }
            events += page
        }
        #expect(events.map(\.position) == Array(stride(from: Int64(1), through: head, by: 1)), "positions are 1…head with no gap")

        var byID: [UUID: RecordedEvent] = [:]
        for event in events {
            #expect(byID.updateValue(event, forKey: event.id) == nil, "event \(event.id) stored twice")
        }
        var sentIDs: Set<UUID> = []
        var acknowledgedEvents = 0
        for append in sent {
            sentIDs.formUnion(append.ids)
            let stored = append.ids.compactMap { byID[$0] }
            // All or nothing, and if stored: consecutive positions, versions 0, 1, 2 of its own stream.
            #expect(stored.isEmpty || stored.count == append.ids.count,
                    "append to \(append.stream) is half-written: \(stored.count) of \(append.ids.count) events")
            if stored.count == append.ids.count, let first = stored.first {
                #expect(stored.map(\.position) == Array(first.position..<first.position + Int64(stored.count)),
                        "append to \(append.stream) is not at consecutive positions")
                #expect(stored.map(\.version) == Array(0..<Int64(stored.count)))
                #expect(stored.allSatisfy { $0.stream == append.stream })
            }
            if let positions = append.acknowledgedPositions {
                acknowledgedEvents += positions.count
                #expect(stored.map(\.position) == positions,
                        "acknowledged append to \(append.stream) at \(positions) is stored at \(stored.map(\.position))")
            }
        }
        #expect(acknowledgedEvents > 0)
        let strangers = events.filter { !sentIDs.contains($0.id) }
        #expect(strangers.isEmpty, "events nobody sent: \(strangers.prefix(3).map(\.id))")
        return head
    }
}

/// One append a crash client sent, with the positions of its reply if it was acknowledged.
struct SentAppend: Sendable {
    var stream: String
    var ids: [UUID]
    var acknowledgedPositions: [Int64]?
}

/// Client threads, each with its own context and connection, appending until stopped.
///
/// A request that times out has an unknown outcome (it may be committed or not); a request with an
/// `ok` reply is acknowledged and must be durable at the positions the reply names.
final class AppendLoad: @unchecked Sendable {
    let endpoint: String
    let clients: Int
    let eventsPerAppend: Int
    private let state = Locked(State())
    private let finished = DispatchGroup()

    private struct State {
        var sent: [SentAppend] = []
        var acknowledged = 0
        var stopped = false
        var failures: [String] = []
    }

    init(endpoint: String, clients: Int, eventsPerAppend: Int) {
        self.endpoint = endpoint
        self.clients = clients
        self.eventsPerAppend = eventsPerAppend
    }

    var acknowledged: Int { state.withLock { $0.acknowledged } }
    var sent: [SentAppend] { state.withLock { $0.sent } }
    var failures: [String] { state.withLock { $0.failures } }

    func start() {
        for client in 0..<clients {
            finished.enter()
            let thread = Thread { [self] in
                defer { finished.leave() }
                run(client: client)
            }
            thread.start()
        }
    }

    func stop() { state.withLock { $0.stopped = true } }

    func waitForClients(timeout: Double) -> Bool {
        finished.wait(timeout: .now() + timeout) == .success
    }

    private func run(client: Int) {
        guard let context = try? Context() else {
            state.withLock { $0.failures.append("client \(client): no context") }
            return
        }
        let connection = RequestClient(context, endpoint: endpoint)
        var sequence = 0
        while !state.withLock({ $0.stopped }) {
            let ids = (0..<eventsPerAppend).map { _ in UUID() }
            let stream = "crash-\(client)-\(sequence)"
            sequence += 1
            let index = state.withLock { state in
                state.sent.append(SentAppend(stream: stream, ids: ids))
                return state.sent.count - 1
            }
            let frames: [[UInt8]]
            do {
                // Short, so the client notices the node is gone; a timed-out append's fate is unknown.
                frames = try connection.request(appendRequest(stream: stream, ids: ids).jsonBytes, timeout: 300)
            } catch {
                continue
            }
            guard let reply = try? JSONParser.parse(frames.last ?? []), reply["ok"] == .bool(true),
                  let events = reply["events"]?.arrayValue,
                  events.count == ids.count,
                  events.allSatisfy({ $0["stream"]?.stringValue == stream })
            else {
                let text = String(decoding: frames.last ?? [], as: UTF8.self)
                state.withLock { $0.failures.append("\(stream): \(text)") }
                continue
            }
            let positions = events.compactMap { $0["position"]?.intValue }
            state.withLock { state in
                state.sent[index].acknowledgedPositions = positions
                state.acknowledged += 1
            }
        }
    }
}

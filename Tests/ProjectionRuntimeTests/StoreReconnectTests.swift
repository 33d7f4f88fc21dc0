import EventStore
import Foundation
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

/// The runtime's side of a read model in a database server, against a store whose server this
/// test controls: unreachable at start, a commit whose acknowledgement is lost, a server that
/// comes back older than what it acknowledged. (The real PostgreSQL and Redis backends meet the
/// same faults against real servers in their own suites.)
@Suite struct StoreReconnectTests {
    @Test func storeUnreachableAtStartIsWaitedForAndReportedAsDisconnected() throws {
        let server = SimulatedServer()
        server.reachable = false
        try withProjector(server) { writeNode, client, queries in
            let position = try client.command("RegisterUser", ["userId": "u1", "name": "Ada", "state": "Ohio"])["position"]!.intValue!
            #expect(try waitUntil(timeout: .seconds(10)) { try queries.query("health")["result"]?["status"] == "disconnected" })
            let health = try queries.query("health")["result"]
            #expect(health?["storeError"]?.stringValue?.contains("sim:1 refused the connection") == true)
            #expect(try queries.query("count", ["type": "UserRegistered"])["error"]?["code"] == "Unavailable")

            server.reachable = true
            let reply = try queries.query("count", ["type": "UserRegistered"], minPosition: position, waitMs: 10_000)
            #expect(reply["result"]?["count"] == 1)
            #expect(try queries.query("health")["result"]?["status"] == "live")
        }
    }

    @Test func aCommitWhoseAcknowledgementWasLostIsNotAppliedTwice() throws {
        let server = SimulatedServer()
        try withProjector(server) { _, client, queries in
            server.loseNextAcknowledgement = true
            var position: Int64 = 0
            for user in 1...5 {
                position = try client.command("RegisterUser", ["userId": .string("u\(user)"), "name": "Ada", "state": "Ohio"])["position"]!.intValue!
            }
            let reply = try queries.query("count", ["type": "UserRegistered"], minPosition: position, waitMs: 10_000)
            #expect(reply["result"]?["count"] == 5)
            #expect(server.lostAcknowledgements == 1)
        }
    }

    @Test func aServerThatCameBackOlderIsCaughtUpFromItsOwnCheckpoint() throws {
        let server = SimulatedServer()
        try withProjector(server) { _, client, queries in
            var position: Int64 = 0
            for user in 1...3 {
                position = try client.command("RegisterUser", ["userId": .string("u\(user)"), "name": "Ada", "state": "Ohio"])["position"]!.intValue!
            }
            #expect(try queries.query("count", ["type": "UserRegistered"], minPosition: position, waitMs: 10_000)["result"]?["count"] == 3)
            server.saveState()
            for user in 4...6 {
                position = try client.command("RegisterUser", ["userId": .string("u\(user)"), "name": "Ada", "state": "Ohio"])["position"]!.intValue!
            }
            #expect(try queries.query("count", ["type": "UserRegistered"], minPosition: position, waitMs: 10_000)["result"]?["count"] == 6)
            // The server restarts from its last persisted state (three events behind) and drops the
            // connection; the next batch is written only once the projector went back to that checkpoint.
            server.restartFromSavedState()
            position = try client.command("RegisterUser", ["userId": "u7", "name": "Ada", "state": "Ohio"])["position"]!.intValue!
            let reply = try queries.query("count", ["type": "UserRegistered"], minPosition: position, waitMs: 10_000)
            #expect(reply["result"]?["count"] == 7)
            #expect(try waitUntil(timeout: .seconds(10)) { try queries.query("health")["result"]?["status"] == "live" })
        }
    }

    private func withProjector(_ server: SimulatedServer,
                               _ body: (WriteNodeProcess, WriteNodeClient, QueryClient) throws -> Void) throws {
        try withProjectorFedByAWriteNode(name: "counts", adjust: { $0.maxStoreRetryDelayMs = 100 },
                                         makeProjection: { _ in SimulatedStoreProjection(server) }) { writeNode, projector in
            try body(writeNode, try WriteNodeClient(endpoint: writeNode.commandEndpoint), try QueryClient(endpoint: projector.queryEndpoint))
        }
    }
}

/// A database server in this process: counts per event type and a checkpoint, that the test can
/// make unreachable, make lose an acknowledgement, or restart from an older saved state.
private final class SimulatedServer: @unchecked Sendable {
    private let lock = NSLock()
    private var _reachable = true
    private var counts: [String: Int64] = [:]
    private var checkpoint: Int64 = 0
    private var saved: (counts: [String: Int64], checkpoint: Int64)?
    private var dropConnection = false
    private var _loseNextAcknowledgement = false
    private var _lostAcknowledgements = 0
    var lostAcknowledgements: Int { lock.withLock { _lostAcknowledgements } }

    var reachable: Bool {
        get { lock.withLock { _reachable } }
        set { lock.withLock { _reachable = newValue } }
    }
    var loseNextAcknowledgement: Bool {
        get { lock.withLock { _loseNextAcknowledgement } }
        set { lock.withLock { _loseNextAcknowledgement = newValue } }
    }

    func saveState() { lock.withLock { saved = (counts, checkpoint) } }

    func restartFromSavedState() {
        lock.withLock {
            guard let saved else { return }
            (counts, checkpoint) = saved
            dropConnection = true
        }
    }

    private func connected() throws {
        guard _reachable else { throw ReadModelStoreError("sim:1 refused the connection", disconnected: true) }
        if dropConnection {
            dropConnection = false
            throw ReadModelStoreError("sim:1 closed the connection", disconnected: true)
        }
    }

    func readCheckpoint() throws -> Int64 {
        try lock.withLock {
            try connected()
            return checkpoint
        }
    }

    func commit(_ types: [String], through position: Int64) throws {
        try lock.withLock {
            try connected()
            for type in types { counts[type, default: 0] += 1 }
            checkpoint = position
            if _loseNextAcknowledgement {
                _loseNextAcknowledgement = false
                _lostAcknowledgements += 1
                throw ReadModelStoreError("sim:1 closed the connection before the reply", disconnected: true)
            }
        }
    }

    func count(_ type: String) throws -> Int64 {
        try lock.withLock {
            try connected()
            return counts[type] ?? 0
        }
    }

    func reset() { lock.withLock { (counts, checkpoint) = ([:], 0) } }
}

private final class SimulatedStoreProjection: Projection {
    let server: SimulatedServer
    init(_ server: SimulatedServer) { self.server = server }

    var category: String? { nil }
    var queryNames: [String] { ["count"] }
    func checkpoint() throws -> Int64 { try server.readCheckpoint() }
    func apply(_ events: [RecordedEvent], through position: Int64) throws { try server.commit(events.map(\.type), through: position) }
    func reset() throws { server.reset() }
    func digest() throws -> String { "\(try server.count("UserRegistered"))" }

    func query(_ name: String, params: JSONValue) throws -> JSONValue {
        let type = try FieldReader(params, path: "params").string("type")
        do {
            return ["type": .string(type), "count": .int(try server.count(type))]
        } catch let error as ReadModelStoreError {
            throw WireError(.unavailable, error.message)
        }
    }
}

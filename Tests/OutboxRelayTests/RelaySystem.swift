import Foundation
import Logging
import OutboxRelay
import PostgresNIO
import PostgresStore
import TestSupport
import WireProtocol
import ZeroMQ

/// A PostgreSQL, a write node and `outbox-relay` processes on their own ports, and the clients a
/// test needs: the application's session, the relay's query client, a reader of the write node's log.
final class RelaySystem: @unchecked Sendable {
    let directory: URL
    let postgres: PostgresServer
    let writeNode: WriteNodeProcess
    /// The application's connection (inserts rows into the outbox).
    let application: PostgresSession
    private var relays: [RelayProcess] = []

    /// - Parameters:
    ///   - curve: with a write node started `--keys`, the keys the test reaches it with.
    ///   - logicalDecoding: PostgreSQL with `wal_level = logical`, for CDC.
    init(writeNodeArguments: [String] = [], curve: CurveClientKeys? = nil, logicalDecoding: Bool = false) throws {
        directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("prism-relay-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        postgres = try PostgresServer(logicalDecoding: logicalDecoding)
        writeNode = WriteNodeProcess(workDirectory: directory, extraArguments: writeNodeArguments, curve: curve)
        try writeNode.start()
        application = Self.session(postgres)
    }

    deinit {
        for relay in relays { relay.kill() }
        writeNode.kill()
        application.close()
        try? FileManager.default.removeItem(at: directory)
    }

    static func session(_ postgres: PostgresServer) -> PostgresSession {
        PostgresSession(url: try! PostgresURL(postgres.url()), synchronousCommit: true, logger: Logger(label: "test.application"))
    }

    /// Starts a relay and waits until its query endpoint answers `health`.
    @discardableResult
    func startRelay(_ arguments: [String] = [], environment: [String: String] = [:], curve: CurveClientKeys? = nil) throws -> RelayProcess {
        let relay = RelayProcess(system: self, arguments: arguments, environment: environment, curve: curve)
        try relay.start()
        relays.append(relay)
        return relay
    }

    /// Creates the outbox as the relay would (so rows can be inserted before any relay ran).
    func createOutbox() throws {
        try application.transaction(RelayDatabase.schema + OutboxSource.tableSchema)
    }

    /// Inserts one outbox row per `(stream, type, data)` in one transaction; returns their ids.
    @discardableResult
    func insert(_ rows: [(stream: String, type: String, data: String)], on session: PostgresSession? = nil) throws -> [UUID] {
        let session = session ?? application
        let ids = rows.map { _ in UUID() }
        try session.transaction {
            for (id, row) in zip(ids, rows) {
                try session.query("INSERT INTO prism_outbox (id, stream, type, data) VALUES (\(id), \(row.stream), \(row.type), \(row.data)::jsonb)")
            }
        }
        return ids
    }

    func outboxCount() throws -> Int64 {
        try application.query("SELECT count(*) FROM prism_outbox").first!.decode(Int64.self)
    }

    /// Whether the outbox trigger notifies (the relay said it waits); nil before the relay made the table.
    func triggerNotifies() throws -> Bool? {
        let exists = try application.query("SELECT to_regclass('prism_outbox_relay') IS NOT NULL").first!.decode(Bool.self)
        return exists ? try application.query("SELECT waiting FROM prism_outbox_relay").first?.decode(Bool.self) : nil
    }

    /// Every event in the write node's log, in position order.
    func log() throws -> [RecordedEvent] {
        let context = try Context()
        let client = RequestClient(context, endpoint: writeNode.catchUpEndpoint, curve: writeNode.curve)
        var events: [RecordedEvent] = []
        while true {
            let request: JSONValue = ["after": .int(events.last?.position ?? 0), "limit": 1000]
            let frames = try client.request(request.jsonBytes, timeout: 5000)
            let summary = try CatchUp.Summary(body: frames[0])
            events += try frames.dropFirst().map { body throws(WireError) in try EventFrames.decodeBody(body) }
            if summary.count == 0 || (events.last?.position ?? 0) >= summary.head { return events }
        }
    }
}

/// An `outbox-relay` child process.
final class RelayProcess: @unchecked Sendable {
    let queryEndpoint = freeTCPEndpoint()
    let arguments: [String]
    private(set) var process: ManagedProcess?
    private let directory: URL
    private let environment: [String: String]
    /// With `--keys`: the keys the test queries the relay with.
    private let curve: CurveClientKeys?

    init(system: RelaySystem, arguments: [String], environment: [String: String] = [:], curve: CurveClientKeys? = nil) {
        directory = system.directory
        self.environment = environment
        self.curve = curve
        self.arguments = ["--postgres-url", system.postgres.url(), "--command-endpoint", system.writeNode.commandEndpoint,
                          "--catch-up-endpoint", system.writeNode.catchUpEndpoint, "--query-endpoint", queryEndpoint,
                          "--write-node-timeout-ms", "2000"] + arguments
    }

    /// Starts the process without waiting for it.
    func launch() throws {
        process = try ManagedProcess("outbox-relay", arguments, logDirectory: directory, environment: environment)
    }

    /// The exit status once the process has ended on its own.
    func waitForExit(timeout: Double = 60) -> Int32? { process?.waitForExit(timeout: timeout) }

    /// Starts the process and waits until it answers `health`.
    func start() throws {
        try launch()
        guard let process else { return }
        let client = try QueryClient(endpoint: queryEndpoint, curve: curve)
        let answered = waitUntil(timeout: .seconds(20), interval: .milliseconds(20)) {
            !process.isRunning || (try? client.query("health", timeout: 200))?["ok"] == .bool(true)
        }
        guard answered, process.isRunning else { throw TestFailure("outbox-relay did not start: \(process.standardError)") }
        let ready = waitUntil(timeout: .seconds(20), interval: .milliseconds(20)) { ["serving", "standby"].contains(healthStatus) }
        guard ready else { throw TestFailure("outbox-relay is not serving: \((try? query("health"))?.jsonString ?? "?") \(process.standardError)") }
    }

    /// What the relay printed so far.
    var standardError: String { process?.standardError ?? "" }

    func query(_ name: String, _ params: JSONValue = [:], waitMs: Int? = nil) throws -> JSONValue {
        try QueryClient(endpoint: queryEndpoint, curve: curve).query(name, params, waitMs: waitMs, timeout: 5000 + (waitMs ?? 0))
    }

    var healthStatus: String? { (try? query("health"))?["result"]?["status"]?.stringValue }

    func kill() {
        process?.signal(SIGKILL)
        _ = process?.waitForExit(timeout: 10)
    }

    func stop() -> Int32? {
        process?.signal(SIGTERM)
        return process?.waitForExit(timeout: 20)
    }
}

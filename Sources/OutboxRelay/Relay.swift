import EventModel
import Foundation
import Logging
import PostgresStore
import ProjectionRuntime
import ZeroMQ

/// Moves an application's committed changes from a `ChangeSource` into the write node's log,
/// each exactly once and each stream in order, and answers `health`, `stats` and `positionOf`.
///
/// Two threads: the relay thread owns the database session (and its relay lock) and the write
/// node's sockets, and runs the cycle read batch → append (`BatchAppender`) → acknowledge to the
/// source; the query thread owns the query endpoint (`RelayQueryServer`). A failure of PostgreSQL
/// or of the write node leaves the batch unacknowledged and is retried with backoff (health
/// `disconnected`, with the cause); nothing is lost or stored twice meanwhile.
public final class Relay: @unchecked Sendable {
    public let configuration: RelayConfiguration
    /// The query endpoint actually bound (a `tcp://…:*` port resolved).
    public var boundQueryEndpoint: String { queries.boundEndpoint }
    private let context: Context
    private let source: any ChangeSource
    private let database: RelayDatabase
    private let status: RelayStatus
    private let metrics: RelayMetrics
    private let queries: RelayQueryServer
    private let logger: Logger
    private let stopLock = NSLock()
    private var stopping = false

    static let minBackoffMs = 50
    static let maxBackoffMs = 5000
    /// How long after it starts waiting the relay looks once more (for transactions in flight).
    static let settleMs = 50

    /// Binds the query endpoint; touches neither PostgreSQL nor the write node yet.
    ///
    /// - Parameter metrics: made from the swift-metrics backend bootstrapped before; by default,
    ///   from `MetricsSystem` (no-ops when none was).
    /// - Throws: `RelayError` naming what could not be used.
    public init(configuration: RelayConfiguration, source: any ChangeSource, metrics: RelayMetrics? = nil, logger: Logger) throws {
        self.configuration = configuration
        self.source = source
        self.logger = logger
        let metrics = metrics ?? RelayMetrics()
        self.metrics = metrics
        status = RelayStatus(recentCapacity: configuration.recentPositions, lagMetric: metrics.lag)
        database = RelayDatabase(url: configuration.postgresURL, source: source, logger: logger)
        do {
            context = try Context()
            try configuration.security?.startHandler(on: context, logger: logger)
            queries = try RelayQueryServer(context: context, configuration: configuration, status: status, source: source, logger: logger)
        } catch let error as RelayError {
            throw error
        } catch {
            throw RelayError("\(error)")
        }
    }

    /// Brings the metrics up to date from what the relay counts, from the metrics endpoint's thread.
    public func refreshMetrics() {
        metrics.refresh(status.counts, gatekeeper: configuration.security?.gatekeeper)
    }

    /// Relays and serves until `shutdown()`; returns once both threads have finished.
    public func run() {
        let finished = DispatchGroup()
        finished.enter()
        Thread { [self] in
            queries.run()
            finished.leave()
        }.start()
        finished.enter()
        Thread { [self] in
            relayLoop()
            finished.leave()
        }.start()
        finished.wait()
    }

    /// Stops from any thread: the relay thread ends after the batch in hand, the query endpoint after it.
    public func shutdown() {
        stopLock.withLock { stopping = true }
        database.changes.signal()
    }

    /// Reads the authorized keys again (SIGHUP).
    public func reloadAuthorizedKeys() {
        configuration.security?.gatekeeper.reload()
    }

    private var isStopping: Bool { stopLock.withLock { stopping } }

    // MARK: - The relay thread

    private func relayLoop() {
        logger.info("relay started", metadata: [
            "relay.source": "\(source.name)", "postgres.url": "\(configuration.postgresURL)",
            "endpoint.command": "\(configuration.commandEndpoint)", "endpoint.query": "\(boundQueryEndpoint)",
        ])
        let link = WriteNodeLink(
            context: context, commandEndpoint: configuration.commandEndpoint, catchUpEndpoint: configuration.catchUpEndpoint,
            curve: configuration.writeNodeKeys, timeoutMs: configuration.writeNodeTimeoutMs)
        let appender = BatchAppender(link: link, maxEventBytes: configuration.maxEventBytes)
        var wake: Socket?
        var backoffMs = Self.minBackoffMs
        var lastCount: Int64 = 0
        var lastProbe: Int64 = 0
        // What the source was last told (`noteRelayWaiting`); nil after a failure, when unknown.
        var toldWaiting: Bool?
        while !isStopping {
            do {
                let held = try database.acquireLock()
                status.notePostgres(connected: true)
                status.noteLock(held: held)
                guard held else {
                    try probe(link, &lastProbe)
                    database.waitForChanges(milliseconds: configuration.pollIntervalMs)
                    continue
                }
                if monotonicNanoseconds() - lastCount > 1_000_000_000 {
                    lastCount = monotonicNanoseconds()
                    status.noteWaiting(try source.waitingCount(database))
                    status.noteSourceDetails(try source.details(database))
                }
                let batch = try source.nextBatch(database, limit: configuration.batchSize)
                if batch.isEmpty, toldWaiting != true {
                    try source.noteRelayWaiting(true, database)
                    toldWaiting = true
                    // A transaction that inserted before the switch and commits after it sent no
                    // notification: look again shortly before waiting the full interval.
                    database.waitForChanges(milliseconds: min(configuration.pollIntervalMs, Self.settleMs))
                    continue
                }
                if batch.isEmpty {
                    try probe(link, &lastProbe)
                    database.waitForChanges(milliseconds: configuration.pollIntervalMs)
                    continue
                }
                if toldWaiting != false {
                    try source.noteRelayWaiting(false, database)
                    toldWaiting = false
                }
                let recorded = try database.streamVersions(Set(batch.events.map(\.stream)))
                var work = BatchAppender.Work()
                let relayed = try appender.append(batch, recorded: recorded, work: &work)
                status.noteWriteNode(connected: true)
                status.noteStored(relayed, acknowledgedAt: Date())
                if wake == nil { wake = try connectWake() }
                _ = try wake?.send([UInt8](), dontWait: true)
                if configuration.crashAfterAcknowledgement {
                    logger.critical("PRISM_RELAY_CRASH_AFTER_ACK: killing the relay between the write node's acknowledgement and the source's")
                    kill(getpid(), SIGKILL)
                }
                try source.acknowledge(relayed, in: database)
                status.noteAcknowledged(relayed, work: work)
                backoffMs = Self.minBackoffMs
            } catch let error as ZMQError where error.isContextTerminated {
                break
            } catch {
                if let failure = error as? WriteNodeFailure {
                    status.noteWriteNode(connected: false, error: failure.message)
                    logger.warning("the write node cannot take the batch; retrying", metadata: ["error": "\(failure)", "retry.delayMs": "\(backoffMs)"])
                } else {
                    status.notePostgres(connected: false, error: "\(error)")
                    status.noteLock(held: false)
                    logger.warning("PostgreSQL failed; retrying", metadata: ["error": "\(error)", "retry.delayMs": "\(backoffMs)"])
                }
                toldWaiting = nil
                database.waitForChanges(milliseconds: backoffMs)
                backoffMs = min(Self.maxBackoffMs, backoffMs * 2)
            }
        }
        wake?.close(linger: 0)
        database.close()
        context.shutdown()
        logger.info("relay stopped", metadata: ["relay.position": "\(status.lastPosition)"])
    }

    /// Asks the write node's `health` at most once a second while idle, so that `health` reports
    /// it before the first batch and notices it gone without one.
    private func probe(_ link: WriteNodeLink, _ last: inout Int64) throws {
        guard monotonicNanoseconds() - last > 1_000_000_000 else { return }
        last = monotonicNanoseconds()
        do {
            try link.health()
            status.noteWriteNode(connected: true)
        } catch let failure as WriteNodeFailure {
            status.noteWriteNode(connected: false, error: failure.message)
        }
    }

    private func connectWake() throws -> Socket {
        let socket = try Socket(context, .pair)
        try socket.setLinger(0)
        try socket.connect(RelayQueryServer.wakeEndpoint(context))
        return socket
    }
}

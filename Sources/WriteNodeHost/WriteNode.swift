import EventStore
import Foundation
import Logging
import Security
import WireProtocol
import ZeroMQ

/// A write node: the event store, the command endpoint, the event PUB and the catch-up endpoint.
///
/// `init` does everything that can fail at start-up (lock and open the store, bind every socket),
/// so a bad configuration is reported before anything is served; `run` serves until `shutdown`.
public final class WriteNode<D: Domain>: Sendable {
    public let configuration: WriteNodeConfiguration
    /// The endpoints actually bound (a `tcp://…:*` port resolved), in the order command, publish, catch-up.
    public let boundEndpoints: (command: String, publish: String, catchUp: String)
    private let context: Context
    private let sequencer: Sequencer<D>
    private let committer: Committer
    private let catchUp: CatchUpServer
    private let store: EventStore
    private let metrics: WriteNodeMetrics
    private let logger: Logger

    /// - Parameter metrics: made from the swift-metrics backend bootstrapped before (none: no-ops).
    /// - Throws: `WriteNodeError` naming the directory or endpoint that could not be used.
    public init(
        configuration: WriteNodeConfiguration, domain: D, metrics: WriteNodeMetrics = WriteNodeMetrics(),
        logger: Logger = Logger(label: "prism.write-node")
    ) throws {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        // A group's length is a 32-bit field: a batch of the largest requests must fit in it.
        guard configuration.maxBatchRequests * configuration.maxRequestBytes <= 1 << 31 else {
            throw WriteNodeError("max batch (\(configuration.maxBatchRequests)) × max request bytes (\(configuration.maxRequestBytes)) exceeds 2 GiB, the most one group of the log can hold")
        }
        let store: EventStore
        do {
            store = try EventStore(directory: configuration.dataDirectory, options: configuration.store)
        } catch let error as EventStoreError {
            throw WriteNodeError(error.message)
        }
        self.store = store
        if let cut = store.cutTail {
            logger.warning("recovery cut a torn tail", metadata: ["log.location": "\(cut.location)", "log.bytes": "\(cut.bytes)"])
        }
        do {
            context = try Context()
            try configuration.security?.startHandler(on: context, logger: logger)
            let commands = try Socket(context, .router)
            try commands.setMaxMessageSize(Int64(configuration.maxMessageBytes))
            try commands.setReceiveHighWaterMark(configuration.queuePerConnection)
            try commands.setSendHighWaterMark(configuration.queuePerConnection)
            try commands.setRouterMandatory(true)
            let publisher = try Socket(context, .pub)
            try publisher.setSendHighWaterMark(configuration.publishHighWaterMark)
            let catchUpSocket = try Socket(context, .router)
            try catchUpSocket.setMaxMessageSize(Int64(configuration.maxMessageBytes))
            try catchUpSocket.setSendHighWaterMark(configuration.catchUpQueuePerConnection)
            try catchUpSocket.setRouterMandatory(true)
            if let security = configuration.security {
                try security.secure(commands, .command)
                try security.secure(publisher, .publish)
                try security.secure(catchUpSocket, .catchUp)
            }
            try Self.bind(commands, configuration.commandEndpoint, "command")
            try Self.bind(publisher, configuration.publishEndpoint, "publish")
            try Self.bind(catchUpSocket, configuration.catchUpEndpoint, "catch-up")
            boundEndpoints = (try commands.lastEndpoint, try publisher.lastEndpoint, try catchUpSocket.lastEndpoint)
            committer = try Committer(context: context, store: store)
            sequencer = try Sequencer(
                configuration: configuration, domain: domain, store: store,
                commands: commands, publisher: publisher, publishEndpoint: boundEndpoints.publish, committer: committer,
                metrics: metrics, logger: logger)
            catchUp = CatchUpServer(socket: catchUpSocket, store: store, configuration: configuration, logger: logger)
        } catch let error as ZMQError {
            throw WriteNodeError("\(error)")
        } catch let error as SecurityError {
            throw WriteNodeError(error.message)
        }
    }

    private static func bind(_ socket: Socket, _ endpoint: String, _ role: String) throws {
        do {
            try socket.bind(endpoint)
        } catch {
            throw WriteNodeError("cannot bind the \(role) endpoint \(endpoint): \(error.message)")
        }
    }

    /// Serves on three threads of its own (the sequencer, the committer and catch-up) until
    /// `shutdown()`; then returns once each has finished its current batch and closed its
    /// sockets, and the store (its indexer) is closed.
    public func run() {
        logger.info("write node serving", metadata: [
            "endpoint.command": "\(boundEndpoints.command)", "endpoint.publish": "\(boundEndpoints.publish)",
            "endpoint.catchUp": "\(boundEndpoints.catchUp)", "store.directory": "\(configuration.dataDirectory)",
            "durability": "fdatasync before every reply, up to \(configuration.maxBatchRequests) requests per commit",
            "idWindow.events": "\(configuration.store.idWindowEvents)",
            "security": "\(configuration.security.map { "CURVE, keys \($0.keys.path), identity \($0.identity)" } ?? "none (plain text, anyone may connect)")",
        ])
        let finished = DispatchGroup()
        let loops: [(String, @Sendable () -> Void)] = [("sequencer", sequencer.run), ("committer", committer.run), ("catch-up", catchUp.run)]
        for (name, loop) in loops {
            finished.enter()
            let thread = Thread {
                nameCurrentThread(name)
                loop()
                finished.leave()
            }
            thread.start()
        }
        finished.wait()
        do {
            try store.close()
        } catch {
            logger.error("closing the event store failed", metadata: ["error": "\(error)"])
        }
        logger.info("write node stopped")
    }

    /// Reads the authorized keys again (SIGHUP): a removed key's connections lose their rights at
    /// their next request, and subscribers are admitted again under the new set.
    public func reloadAuthorizedKeys() {
        configuration.security?.gatekeeper.reload()
    }

    /// Brings the metrics read at scrape time up to date (positions, refusals), from any thread.
    public func refreshMetrics() {
        metrics.refresh(store: store, gatekeeper: configuration.security?.gatekeeper)
    }

    /// Stops serving, from any thread (a signal handler's dispatch source, a test).
    public func shutdown() {
        context.shutdown()
    }
}

/// Why a write node could not start.
public struct WriteNodeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

import ArgumentParser
import CommandLineSupport
import Dispatch
import Foundation
import HTTPEndpoint
import Logging
import OrdersDomain
import Security
import SecurityOptions
import Telemetry
import WireProtocol
import WriteNodeHost

/// `write-node`: parses flags and runs a `WriteNode` hosting the orders domain until SIGINT/SIGTERM.
@main
struct WriteNodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-node",
        abstract: "Take commands, append events durably, publish them over ZeroMQ.")

    @Option(help: "Event store directory (created if missing; one write node per directory).")
    var dataDir = "data/write-node"

    @Option(help: "ROUTER endpoint for commands and appends.")
    var commandEndpoint = DefaultEndpoints.command

    @Option(help: "PUB endpoint for events and heartbeats.")
    var publishEndpoint = DefaultEndpoints.publish

    @Option(help: "ROUTER endpoint serving catch-up reads.")
    var catchUpEndpoint = DefaultEndpoints.catchUp

    @Option(help: "Most requests committed in one transaction (one fsync).")
    var maxBatch = 1024

    @Option(help: "Most requests of one connection in a transaction: a client flooding the node delays the others by at most this many.")
    var maxBatchPerConnection = 32

    @Option(help: "Heartbeat period on PUB, in milliseconds.")
    var heartbeatMs = 1000

    @Option(help: "Largest request answered, in bytes (larger: TooLarge).")
    var maxRequestBytes = 1 << 20

    @Option(help: "Largest event (data + metadata), in bytes.")
    var maxEventBytes = 64 << 10

    @Option(help: "Most events returned by one catch-up request.")
    var maxCatchUpEvents = CatchUp.defaultMaxEvents

    @Option(help: "Messages queued per connection on the command endpoint, each way: past it a client's unread replies are dropped and its requests wait in TCP.")
    var queuePerConnection: Int32 = 1000

    @Option(help: "Catch-up replies queued per connection: past it a reader's unread replies are dropped.")
    var catchUpQueuePerConnection: Int32 = 2

    @Option(help: "Events queued per subscriber on PUB: past it a subscriber that does not keep up loses events (and backfills).")
    var publishQueuePerConnection: Int32 = 20_000

    @Option(help: "Size of a new log segment file, in bytes (zero-filled ahead of use; small ones for tests).")
    var segmentBytes = 256 << 20

    @Option(help: "Most event ids the idempotency window holds (a retry inside it returns the original positions).")
    var idWindowEvents = 1_000_000

    @Option(help: "Oldest event id the idempotency window holds, in seconds; 0 for no age limit.")
    var idWindowSeconds = 0

    @Option(help: "Most stream heads kept in memory for expected-version checks (past it, indexed ones refill from the index).")
    var maxCachedStreams = 1_000_000

    @OptionGroup var log: LogOptions

    @OptionGroup var keys: KeyOptions

    @OptionGroup var metrics: MetricsOptions

    func validate() throws {
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1, got \(maxBatch)") }
        guard maxBatchPerConnection >= 1 else { throw ValidationError("--max-batch-per-connection must be at least 1, got \(maxBatchPerConnection)") }
        guard heartbeatMs >= 10 else { throw ValidationError("--heartbeat-ms must be at least 10, got \(heartbeatMs)") }
        guard maxRequestBytes >= 1024 else { throw ValidationError("--max-request-bytes must be at least 1024") }
        guard maxEventBytes >= 64 else { throw ValidationError("--max-event-bytes must be at least 64") }
        for (flag, value) in [("--queue-per-connection", queuePerConnection), ("--catch-up-queue-per-connection", catchUpQueuePerConnection),
                              ("--publish-queue-per-connection", publishQueuePerConnection)] where value < 1 {
            throw ValidationError("\(flag) must be at least 1, got \(value)")
        }
        guard segmentBytes >= 4096 else { throw ValidationError("--segment-bytes must be at least 4096, got \(segmentBytes)") }
        guard idWindowEvents >= 0 else { throw ValidationError("--id-window-events must not be negative, got \(idWindowEvents)") }
        guard idWindowSeconds >= 0 else { throw ValidationError("--id-window-seconds must not be negative, got \(idWindowSeconds)") }
        guard maxCachedStreams >= 1 else { throw ValidationError("--max-cached-streams must be at least 1, got \(maxCachedStreams)") }
        guard (1...100_000).contains(maxCatchUpEvents) else {
            throw ValidationError("--max-catch-up-events must be between 1 and 100000")
        }
    }

    func run() throws {
        mapLargeAllocations()
        var configuration = WriteNodeConfiguration(dataDirectory: dataDir)
        configuration.commandEndpoint = commandEndpoint
        configuration.publishEndpoint = publishEndpoint
        configuration.catchUpEndpoint = catchUpEndpoint
        configuration.maxBatchRequests = maxBatch
        configuration.maxBatchRequestsPerConnection = maxBatchPerConnection
        configuration.heartbeatIntervalMs = heartbeatMs
        configuration.maxRequestBytes = maxRequestBytes
        configuration.maxMessageBytes = max(16 << 20, maxRequestBytes * 2)
        configuration.maxEventBytes = maxEventBytes
        configuration.maxCatchUpEvents = maxCatchUpEvents
        configuration.queuePerConnection = queuePerConnection
        configuration.catchUpQueuePerConnection = catchUpQueuePerConnection
        configuration.publishHighWaterMark = publishQueuePerConnection
        configuration.store.segmentBytes = segmentBytes
        configuration.store.idWindowEvents = idWindowEvents
        configuration.store.idWindowSeconds = idWindowSeconds
        configuration.store.maxCachedStreams = maxCachedStreams

        let logger = log.bootstrap(label: "prism.write-node")
        configuration.security = try keys.serverSecurity(defaultIdentity: ServerKeyName.writeNode, logger: logger)
        let exporter = try metrics.bootstrap(help: WriteNodeMetrics.help)
        let node: WriteNode<OrdersDomain>
        let metricsEndpoint: HTTPEndpoint?
        do {
            node = try WriteNode(configuration: configuration, domain: OrdersDomain(), logger: logger)
            metricsEndpoint = try exporter?.serve(logger: logger) { node.refreshMetrics() }
        } catch {
            throw StartupFailure("\(error)")
        }
        let signals = ShutdownSignals { node.shutdown() }
        let reload = ReloadSignal { node.reloadAuthorizedKeys() }
        node.run()
        metricsEndpoint?.close()
        withExtendedLifetime((signals, reload)) {}
    }
}

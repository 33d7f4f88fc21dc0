import ArgumentParser
import CommandLineSupport
import Foundation
import HTTPEndpoint
import Logging
import OutboxRelay
import PostgresStore
import Security
import SecurityOptions
import Telemetry
import WireProtocol

/// `outbox-relay`: parses flags and runs a `Relay` on the chosen source until SIGINT/SIGTERM.
@main
struct OutboxRelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox-relay",
        abstract: "Append an application's PostgreSQL changes (a transactional outbox, or CDC) to the write node, each once and in order.",
        discussion: "See docs/OUTBOX.md.")

    @Option(help: "Where the changes come from: outbox (the prism_outbox table) or cdc (row changes of --tables, from a wal2json replication slot).")
    var mode: RelayMode = .outbox

    @Option(help: "CDC: the logical replication slot, created with wal2json if missing (lowercase letters, digits, _).")
    var slot = "prism_cdc"

    @Option(help: ArgumentHelp("CDC: the tables to capture, comma-separated (schema.table, or table in public), in snapshot order.", valueName: "tables"))
    var tables: String?

    @Option(help: "CDC: how row changes become events: generic (<table>-<key> streams) or orders (the example app's domain events).")
    var mapping = "generic"

    @Option(help: ArgumentHelp("The application's database, postgres://user:password@host:port/database. Default: $PRISM_POSTGRES_URL.", valueName: "url"))
    var postgresURL: String?

    @Option(help: "The write node's command endpoint (appends).")
    var commandEndpoint = DefaultEndpoints.command

    @Option(help: "The write node's catch-up endpoint (stream reads, to learn a stream's version).")
    var catchUpEndpoint = DefaultEndpoints.catchUp

    @Option(help: "ROUTER endpoint answering health, stats and positionOf.")
    var queryEndpoint = DefaultEndpoints.outboxRelay

    @Option(help: "Most rows read and appended per batch.")
    var batchSize = 500

    @Option(help: "Milliseconds between looks at an idle source: outbox 1000 (LISTEN/NOTIFY wakes the relay sooner), cdc 100 (a slot has no notification, and a peek of an idle slot is cheap).")
    var pollIntervalMs: Int?

    @Option(help: "Milliseconds to wait for the write node's replies.")
    var writeNodeTimeoutMs = 5000

    @Option(help: "Largest data + metadata of one event, in bytes (as the write node's --max-event-bytes); larger rows are parked.")
    var maxEventBytes = 64 << 10

    @Option(help: "How many recently relayed ids positionOf answers from memory.")
    var recentPositions = 100_000

    @OptionGroup var log: LogOptions

    @OptionGroup var keys: KeyOptions

    @OptionGroup var metrics: MetricsOptions

    @Option(help: ArgumentHelp("With --keys: the name of the write node's public key (<dir>/<name>.pub).", valueName: "name"))
    var writeNodeKey = ServerKeyName.writeNode

    func validate() throws {
        guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 10000, got \(batchSize)") }
        if let pollIntervalMs, pollIntervalMs < 1 { throw ValidationError("--poll-interval-ms must be at least 1, got \(pollIntervalMs)") }
        guard writeNodeTimeoutMs >= 100 else { throw ValidationError("--write-node-timeout-ms must be at least 100, got \(writeNodeTimeoutMs)") }
        guard maxEventBytes >= 64 else { throw ValidationError("--max-event-bytes must be at least 64, got \(maxEventBytes)") }
        guard recentPositions >= 1 else { throw ValidationError("--recent-positions must be at least 1, got \(recentPositions)") }
    }

    /// The source `--mode` names, from its flags.
    func source(logger: Logger) throws -> any ChangeSource {
        switch mode {
        case .outbox:
            return OutboxSource()
        case .cdc:
            guard let tables else { throw ValidationError("--mode cdc needs --tables, e.g. --tables public.users,public.orders") }
            var names: [TableName] = []
            for text in tables.split(separator: ",") {
                guard let name = TableName(text.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--tables: '\(text)' is not a table name (schema.table or table)")
                }
                names.append(name)
            }
            guard let changeMapping = changeMapping(named: mapping) else {
                throw ValidationError("--mapping must be generic or orders, got '\(mapping)'")
            }
            var configuration: CDCSource.Configuration
            do {
                configuration = try CDCSource.Configuration(slot: slot, tables: names, mapping: changeMapping)
            } catch {
                throw ValidationError(error.message)
            }
            configuration.crashBeforeSlotAdvance = ProcessInfo.processInfo.environment["PRISM_RELAY_CRASH_BEFORE_SLOT_ADVANCE"] == "1"
            return CDCSource(configuration: configuration, logger: logger)
        }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let urlText = postgresURL ?? environment["PRISM_POSTGRES_URL"] else {
            throw ValidationError("outbox-relay needs --postgres-url (or PRISM_POSTGRES_URL), e.g. postgres://prism:prism@127.0.0.1:5432/app")
        }
        let url: PostgresURL
        do { url = try PostgresURL(urlText) } catch { throw ValidationError(error.message) }
        let logger = log.bootstrap(label: "prism.outbox-relay")
        var configuration = RelayConfiguration(postgresURL: url)
        configuration.commandEndpoint = commandEndpoint
        configuration.catchUpEndpoint = catchUpEndpoint
        configuration.queryEndpoint = queryEndpoint
        configuration.batchSize = batchSize
        configuration.pollIntervalMs = pollIntervalMs ?? (mode == .cdc ? 100 : 1000)
        configuration.writeNodeTimeoutMs = writeNodeTimeoutMs
        configuration.maxEventBytes = maxEventBytes
        configuration.recentPositions = recentPositions
        configuration.crashAfterAcknowledgement = environment["PRISM_RELAY_CRASH_AFTER_ACK"] == "1"
        configuration.security = try keys.serverSecurity(defaultIdentity: ServerKeyName.outboxRelay, logger: logger)
        do {
            configuration.writeNodeKeys = try configuration.security?.clientKeys(to: writeNodeKey)
        } catch {
            throw StartupFailure("\(error)")
        }
        let source = try source(logger: logger)
        let exporter = try metrics.bootstrap(help: RelayMetrics.help)
        let relay: Relay
        let metricsEndpoint: HTTPEndpoint?
        do {
            relay = try Relay(configuration: configuration, source: source, logger: logger)
            metricsEndpoint = try exporter?.serve(logger: logger) { relay.refreshMetrics() }
        } catch {
            throw StartupFailure("\(error)")
        }
        let signals = ShutdownSignals { relay.shutdown() }
        let reload = ReloadSignal { relay.reloadAuthorizedKeys() }
        relay.run()
        metricsEndpoint?.close()
        withExtendedLifetime((signals, reload)) {}
    }
}

/// Which `ChangeSource` the relay reads.
enum RelayMode: String, ExpressibleByArgument, CaseIterable {
    case outbox, cdc
}

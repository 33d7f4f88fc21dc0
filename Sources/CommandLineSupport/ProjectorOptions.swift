import ArgumentParser
import Foundation
import HTTPEndpoint
import Logging
import ProjectionRuntime
import Security
import SecurityOptions
import Telemetry
import WireProtocol

/// The flags every projector executable takes.
public struct ProjectorOptions: ParsableArguments {
    @Option(help: "Read-model directory (created if missing). Default: data/<name>-projector.")
    public var dataDir: String?

    @Option(help: "ROUTER endpoint answering queries. Default: the projector's own port on 127.0.0.1.")
    public var queryEndpoint: String?

    @Option(help: "The write node's PUB endpoint.")
    public var publishEndpoint = DefaultEndpoints.publish

    @Option(help: "The write node's catch-up endpoint.")
    public var catchUpEndpoint = DefaultEndpoints.catchUp

    @Option(help: ArgumentHelp("Where the read model lives: embedded (the default: SQLite or memory in --data-dir), postgres or redis, as the projector supports (--help names them).", valueName: "store"))
    public var store: StoreKind = .embedded

    @Option(help: ArgumentHelp("With --store postgres: the database, postgres://user:password@host:port/database. Default: $PRISM_POSTGRES_URL.", valueName: "url"))
    public var postgresURL: String?

    @Option(help: ArgumentHelp("With --store postgres: synchronous_commit for the model's sessions, off (the model is rebuildable; its checkpoint commits with it) or on. Default: $PRISM_POSTGRES_SYNCHRONOUS_COMMIT, else off.", valueName: "off|on"))
    public var postgresSynchronousCommit: String?

    @Option(help: ArgumentHelp("With --store redis: the server, redis://[[user]:password@]host:port[/db]. Default: $PRISM_REDIS_URL.", valueName: "url"))
    public var redisURL: String?

    @Option(help: ArgumentHelp("Names the model in a database server: schema <prefix>_<name>_g<generation>, Redis keys <prefix>:<name>:g<generation>:…", valueName: "prefix"))
    public var storePrefix = StoreSettings.defaultPrefix

    @Flag(help: "Build a fresh copy of the read model from position 0 beside the live one; switch to it once it has caught up.")
    public var rebuild = false

    @Option(help: "Most events applied in one read-model transaction and asked of one catch-up request (at most the write node's --max-catch-up-events).")
    public var maxBatch = CatchUp.defaultMaxEvents

    @Option(help: "Milliseconds without an event or heartbeat before resubscribing.")
    public var silenceTimeoutMs = 3500

    @Option(help: "Messages queued per connection on the query endpoint, each way: past it a client's unread replies are dropped and its queries wait in TCP.")
    public var queuePerConnection: Int32 = 100

    @Option(help: "Most queries answered before the events that arrived meanwhile are applied.")
    public var maxQueriesPerPass = 16

    @OptionGroup public var log: LogOptions

    @OptionGroup public var keys: KeyOptions

    @Option(help: ArgumentHelp("With --keys: the name of the write node's public key (<dir>/<name>.pub).", valueName: "name"))
    public var writeNodeKey = ServerKeyName.writeNode

    @OptionGroup public var metrics: MetricsOptions

    public init() {}

    public func validate() throws {
        guard (1...100_000).contains(maxBatch) else { throw ValidationError("--max-batch must be between 1 and 100000, got \(maxBatch)") }
        guard queuePerConnection >= 1 else { throw ValidationError("--queue-per-connection must be at least 1, got \(queuePerConnection)") }
        guard maxQueriesPerPass >= 1 else { throw ValidationError("--max-queries-per-pass must be at least 1, got \(maxQueriesPerPass)") }
        guard StoreSettings.isValidPrefix(storePrefix) else {
            throw ValidationError("--store-prefix must be a lowercase letter then lowercase letters, digits or _ (at most 32), got '\(storePrefix.prefix(64))'")
        }
        guard silenceTimeoutMs >= 100 else { throw ValidationError("--silence-timeout-ms must be at least 100, got \(silenceTimeoutMs)") }
    }

    /// The store settings the flags and environment name.
    ///
    /// - Throws: `ValidationError` when the store's server is not named.
    public func storeSettings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> StoreSettings {
        var settings = StoreSettings(
            kind: store, postgresURL: postgresURL ?? environment["PRISM_POSTGRES_URL"],
            redisURL: redisURL ?? environment["PRISM_REDIS_URL"], prefix: storePrefix)
        switch postgresSynchronousCommit ?? environment["PRISM_POSTGRES_SYNCHRONOUS_COMMIT"] ?? "off" {
        case "off": settings.postgresSynchronousCommit = false
        case "on": settings.postgresSynchronousCommit = true
        case let other: throw ValidationError("--postgres-synchronous-commit must be off or on, got '\(other.prefix(32))'")
        }
        switch store {
        case .embedded: break
        case .postgres where settings.postgresURL == nil:
            throw ValidationError("--store postgres needs --postgres-url (or PRISM_POSTGRES_URL), e.g. postgres://prism:prism@127.0.0.1:5432/prism")
        case .redis where settings.redisURL == nil:
            throw ValidationError("--store redis needs --redis-url (or PRISM_REDIS_URL), e.g. redis://127.0.0.1:6379")
        case .postgres, .redis: break
        }
        return settings
    }

    /// Opens the definition's read model and runs a `Projector` on it until SIGINT/SIGTERM.
    ///
    /// - Throws: `StartupFailure` when the read model or the query endpoint cannot be opened, or
    ///   the projector's error when it stops on one it cannot serve through.
    public func run(_ definition: ProjectorDefinition) throws {
        mapLargeAllocations()
        let logger = log.bootstrap(label: "prism.\(definition.name)-projector")
        var configuration = ProjectorConfiguration(
            name: definition.name, queryEndpoint: queryEndpoint ?? definition.defaultQueryEndpoint,
            dataDirectory: dataDir ?? definition.defaultDataDirectory)
        configuration.publishEndpoint = publishEndpoint
        configuration.catchUpEndpoint = catchUpEndpoint
        configuration.rebuild = rebuild
        configuration.maxEventsPerTransaction = maxBatch
        configuration.silenceTimeoutMs = silenceTimeoutMs
        configuration.queuePerConnection = queuePerConnection
        configuration.maxQueriesPerPass = maxQueriesPerPass
        configuration.security = try keys.serverSecurity(defaultIdentity: ServerKeyName.projector(definition.name), logger: logger)
        do {
            configuration.writeNodeKeys = try configuration.security?.clientKeys(to: writeNodeKey)
        } catch {
            throw StartupFailure("\(error)")
        }
        let settings = try storeSettings()
        logger.info("projector starting", metadata: [
            "projector.name": "\(definition.name)", "endpoint.query": "\(configuration.queryEndpoint)",
            "endpoint.publish": "\(configuration.publishEndpoint)", "endpoint.catchUp": "\(configuration.catchUpEndpoint)",
            "data.directory": "\(configuration.dataDirectory)", "store": "\(settings.kind.rawValue)",
            "store.prefix": "\(settings.prefix)", "maxBatch": "\(maxBatch)",
            "security": "\(configuration.security.map { "CURVE, identity \($0.identity)" } ?? "none (plain text)")",
        ])
        let exporter = try metrics.bootstrap(help: ProjectorMetrics.help)
        let projector: Projector
        let metricsEndpoint: HTTPEndpoint?
        do {
            let makeProjection = try definition.opener(for: settings)
            projector = try Projector(configuration: configuration, makeProjection: makeProjection, logger: logger)
            metricsEndpoint = try exporter?.serve(logger: logger) { projector.refreshMetrics() }
        } catch {
            throw StartupFailure("\(error)")
        }
        let signals = ShutdownSignals { projector.shutdown() }
        let reload = ReloadSignal { projector.reloadAuthorizedKeys() }
        defer {
            metricsEndpoint?.close()
            withExtendedLifetime((signals, reload)) {}
        }
        try projector.run()
    }
}

extension StoreKind: ExpressibleByArgument {}

extension ProjectorDefinition {
    /// `<name>-projector` with the definition's summary, for `@main`.
    public var commandConfiguration: CommandConfiguration {
        CommandConfiguration(commandName: "\(name)-projector", abstract: summary)
    }
}

/// A start-up failure: printed as `Error: <message>`, exit status 1.
public struct StartupFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

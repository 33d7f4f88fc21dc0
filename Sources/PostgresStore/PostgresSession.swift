import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import ProjectionRuntime

/// One connection to a PostgreSQL server, used synchronously from the projector's apply thread.
///
/// A deliberate sync bridge: the projection runtime calls a read model from one plain thread
/// (never from the cooperative pool), so each call sends its statement on the session's own
/// one-thread event loop and `wait()`s for the reply on the calling thread. One connection, one
/// statement at a time: a batch is one statement, so nothing would gain from a pool.
///
/// The session connects lazily (on the first statement) and again after a lost connection;
/// `init` touches no network. Every connection starts with `synchronous_commit = off` unless asked
/// otherwise (a read model is rebuildable, and commit order still keeps its checkpoint with its rows) and the
/// given startup parameters, then runs `onConnect` (e.g. the schema checks and the lock).
///
/// Errors come out as the store contract sorts them (`PostgresSession.classify`):
/// `ReadModelStoreError(disconnected: true)` when the server cannot be reached, authenticated or
/// owned, `ReadModelStoreError` for transient server trouble, `PostgresQueryError` for a
/// statement the server refused (caused by the data).
public final class PostgresSession: @unchecked Sendable {
    public let url: PostgresURL
    /// Runs on each new connection before anything else; a throw drops the connection and makes
    /// the call that connected fail with `ReadModelStoreError(disconnected: true)`.
    public var onConnect: ((PostgresSession) throws -> Void)?

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private var connection: PostgresConnection?
    private var connectionCount = 0
    private var connecting = false
    private let state = NSLock()
    private var lastErrorText: String?

    /// How long a connection attempt may take: short, so that `health` reports a down server quickly.
    public static let connectTimeout = TimeAmount.seconds(2)

    /// - Parameter startupParameters: settings every connection starts with (`search_path`,
    ///   `application_name` …), sent in the startup message rather than as statements.
    ///   - synchronousCommit: PostgreSQL's `synchronous_commit` for the session (default off).
    public init(url: PostgresURL, startupParameters: [(String, String)] = [], synchronousCommit: Bool = false, logger: Logger) {
        self.url = url
        self.logger = logger
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: .disable)
        configuration.options.connectTimeout = Self.connectTimeout
        configuration.options.additionalStartupParameters =
            [("synchronous_commit", synchronousCommit ? "on" : "off"), ("client_min_messages", "warning")] + startupParameters
        self.configuration = configuration
    }

    deinit {
        close()
        try? group.syncShutdownGracefully()
    }

    /// Whether a connection is open now (it may still turn out lost on the next statement).
    public var isConnected: Bool { state.withLock { connection != nil } }

    /// The last failure's message, nil when none yet; kept after a reconnect, for `stats`.
    public var lastError: String? { state.withLock { lastErrorText } }

    /// Runs one statement and returns its rows, connecting first when needed.
    ///
    /// - Throws: `ReadModelStoreError` or `PostgresQueryError` (see the type's documentation).
    @discardableResult
    public func query(_ query: PostgresQuery) throws -> [PostgresRow] {
        let connection = try connected()
        do {
            return try connection.query(query, logger: logger).wait().rows
        } catch {
            throw failed(error)
        }
    }

    /// Runs `statements` in one transaction (DDL, setup): all or none.
    public func transaction(_ statements: [String]) throws {
        try transaction {
            for statement in statements { try query(PostgresQuery(unsafeSQL: statement)) }
        }
    }

    /// Runs `body`'s statements in one transaction: committed when it returns, rolled back when it throws.
    @discardableResult
    public func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        try query("BEGIN")
        do {
            let result = try body()
            try query("COMMIT")
            return result
        } catch {
            if isConnected { _ = try? query("ROLLBACK") }
            throw error
        }
    }

    /// Calls `handler` on the session's event-loop thread for each notification on `channel`
    /// (`LISTEN`), on the connection open now: a new connection listens only once asked again,
    /// so call this from `onConnect`.
    public func listen(_ channel: String, handler: @escaping @Sendable () -> Void) throws {
        let connection = try connected()
        connection.addListener(channel: channel) { _, _ in handler() }
        // addListener sends LISTEN on its own; this round trip makes sure it was taken before
        // the caller reads what it might otherwise miss.
        try query("SELECT 1")
    }

    /// Closes the connection (a later statement opens another); releases session-level locks.
    public func close() {
        let connection = state.withLock {
            defer { self.connection = nil }
            return self.connection
        }
        try? connection?.close().wait()
    }

    // MARK: - Connecting

    private func connected() throws -> PostgresConnection {
        if let open = state.withLock({ self.connection }), !open.isClosed { return open }
        close()
        connectionCount += 1
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(
                on: group.next(), configuration: configuration, id: connectionCount, logger: logger
            ).wait()
        } catch {
            throw failed(error)
        }
        state.withLock { self.connection = connection }
        // Statements that `onConnect` runs come back here and find the connection open.
        guard let onConnect, !connecting else { return connection }
        connecting = true
        defer { connecting = false }
        do {
            try onConnect(self)
        } catch {
            close()
            let storeError = ReadModelStoreError.from(error)
            throw recorded(ReadModelStoreError(storeError?.message ?? "\(error)", disconnected: true))
        }
        logger.info("connected to PostgreSQL", metadata: ["postgres.url": "\(url)"])
        return connection
    }

    /// `error` as the contract sorts it, recorded for `lastError`; a lost connection is closed.
    private func failed(_ error: any Error) -> any Error {
        let classified = Self.classify(error, endpoint: url.endpoint, user: url.user)
        if let storeError = classified as? ReadModelStoreError {
            if storeError.disconnected { close() }
            return recorded(storeError)
        }
        state.withLock { lastErrorText = "\(classified)" }
        return classified
    }

    private func recorded(_ error: ReadModelStoreError) -> ReadModelStoreError {
        state.withLock { lastErrorText = error.message }
        return error
    }
}

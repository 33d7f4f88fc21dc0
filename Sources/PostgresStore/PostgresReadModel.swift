import Logging
import PostgresNIO
import ProjectionRuntime
import WireProtocol

/// The PostgreSQL plumbing a read model needs — the counterpart of `SQLiteReadModel`: its
/// schema, the checkpoint, one statement per applied batch, reset, digest, discard.
///
/// How a model uses it:
///
/// 1. Describe the model in a `Layout`: its tables (run once, when the schema is created), its
///    functions (run on every connection, so a new binary's function replaces the old), and a
///    function `prism_apply_events(events jsonb) RETURNS void` among them that applies a batch.
///    Write the SQL unqualified: every connection's `search_path` is the model's schema. Declare
///    text keys `COLLATE "C"` where order matters, so ordering is bytewise as in SQLite.
/// 2. `init(settings:namespace:layout:)` in the projection's `init` (it only checks the URL).
/// 3. In `apply`, write the events into a `PostgresEventBatch` (the fields the function reads)
///    and call `apply(_:through:)`: one statement runs `prism_apply_events` and moves the
///    checkpoint, in the statement's own transaction.
/// 4. Answer queries with `rows(_:)` (unreachable server: `WireError(.unavailable)`); forward
///    `checkpoint`, `reset`, `digest`, `discard`, `reachedHead` (`createDeferredIndexes`) and
///    `statistics` to the model.
///
/// The schema is `namespace.postgresSchema` (`prism_orders_g1`). On every new connection the
/// model takes a session-level advisory lock on the schema's name (a second projector on the
/// same schema is refused until the first stops), then creates the schema when it is missing —
/// with `prism_meta` (projector, schema version, created at), `prism_checkpoint` and the
/// layout's tables, in one transaction — or checks that it is ours: a schema without
/// `prism_meta`, or whose `prism_meta` names another projector, is refused. A schema of another
/// `Layout.version` is emptied (dropped and created again, with a log line) so that the runtime
/// rebuilds it from the log: a read model is cheaper to rebuild than to migrate.
///
/// A refusal and an unreachable server are `ReadModelStoreError(disconnected: true)`: the runtime
/// retries with backoff and reports `health: disconnected`.
public final class PostgresReadModel: @unchecked Sendable {
    /// What a model keeps in its schema.
    public struct Layout: Sendable {
        /// The tables' layout: a schema of another version is emptied and rebuilt.
        public var version: Int
        /// `CREATE TABLE` / `CREATE INDEX` statements, run once when the schema is created.
        public var tables: [String]
        /// `CREATE OR REPLACE FUNCTION` statements, run on every connection; they must define
        /// `prism_apply_events(events jsonb) RETURNS void`.
        public var functions: [String]
        /// `CREATE INDEX IF NOT EXISTS` statements for indexes only queries use, built once the
        /// model reached the head (cheaper than keeping them through a catch-up).
        public var deferredIndexes: [String]

        public init(version: Int, tables: [String], functions: [String], deferredIndexes: [String] = []) {
            self.version = version
            self.tables = tables
            self.functions = functions
            self.deferredIndexes = deferredIndexes
        }
    }

    public let namespace: StoreNamespace
    public let layout: Layout
    private let session: PostgresSession
    private let logger: Logger

    /// The schema, e.g. `prism_orders_g1`.
    public var schema: String { namespace.postgresSchema }

    /// Checks `settings.postgresURL`; connects on the first call that needs the server.
    ///
    /// - Throws: `PostgresURLError` for a malformed URL, `ProjectorError` when there is none.
    public init(settings: StoreSettings, namespace: StoreNamespace, layout: Layout, logger: Logger = Logger(label: "prism.postgres")) throws {
        guard let text = settings.postgresURL else {
            throw ProjectorError("the postgres store needs --postgres-url (or PRISM_POSTGRES_URL)")
        }
        let url = try PostgresURL(text)
        self.namespace = namespace
        self.layout = layout
        var logger = logger
        logger[metadataKey: "postgres.schema"] = "\(namespace.postgresSchema)"
        self.logger = logger
        session = PostgresSession(
            url: url, startupParameters: [("search_path", namespace.postgresSchema), ("application_name", "prism \(namespace.postgresSchema)")],
            synchronousCommit: settings.postgresSynchronousCommit, logger: logger)
        session.onConnect = { [unowned self] session in try self.prepare(session) }
    }

    /// The copy of `projector`'s model in `directory` (a `generation-<n>` directory), named
    /// `<prefix>_<projector>_g<n>`: how a model opens from its `ProjectorDefinition` entry.
    public convenience init(settings: StoreSettings, projector: String, directory: String, layout: Layout) throws {
        try self.init(settings: settings, namespace: StoreNamespace(prefix: settings.prefix, projector: projector, directory: directory), layout: layout)
    }

    // MARK: - The projection's calls

    /// The checkpoint, read from the server every time (never remembered), so that a server
    /// that came back older than the projector is caught up from its own checkpoint.
    public func checkpoint() throws -> Int64 {
        let rows = try session.query("SELECT position FROM prism_checkpoint")
        guard let row = rows.first else { throw ReadModelStoreError("\(schema).prism_checkpoint has no row", disconnected: true) }
        return try row.decode(Int64.self)
    }

    /// Applies `batch` with the model's `prism_apply_events` and stores `position` as the
    /// checkpoint, in one statement (so one transaction and one round trip).
    public func apply(_ batch: PostgresEventBatch, through position: Int64) throws {
        var binds = PostgresBindings(capacity: 2)
        binds.append(batch.parameter)
        binds.append(position)
        try session.query(PostgresQuery(unsafeSQL: "SELECT prism_apply_batch($1, $2)", binds: binds))
    }

    /// Runs a query's SELECT.
    ///
    /// - Throws: `WireError(.unavailable)` while the server cannot be reached (or is not ours);
    ///   `WireError(.internal)` for a transient server error; `PostgresQueryError` otherwise.
    public func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        do {
            return try session.query(query)
        } catch let error as ReadModelStoreError {
            throw WireError(error.disconnected ? .unavailable : .internal, "the read model's PostgreSQL is unavailable: \(error.message)")
        }
    }

    /// A digest of the rows of each `SELECT` (which must order its rows), in order; a cell
    /// counts as SQLite's `DatabaseValue.description` writes it, so the same rows give the
    /// embedded model's digest.
    public func digest(_ selects: [String]) throws -> String {
        var digest = Digest()
        for select in selects {
            for row in try session.query(PostgresQuery(unsafeSQL: select)) {
                for cell in row { digest.add(try cell.digestText()) }
                digest.add("\n")
            }
        }
        return digest.hex
    }

    /// Builds the layout's deferred indexes (`IF NOT EXISTS`: a no-op once they are there).
    public func createDeferredIndexes() throws {
        guard !layout.deferredIndexes.isEmpty else { return }
        try session.transaction(layout.deferredIndexes)
    }

    /// Empties the model: the schema is dropped and created again, checkpoint 0.
    public func reset() throws {
        try session.transaction(["DROP SCHEMA IF EXISTS \(quotedSchema) CASCADE"] + creation + functions)
    }

    /// Drops the schema (this copy was replaced or abandoned), if it is still ours, and closes.
    public func discard() throws {
        session.onConnect = nil
        close()
        defer { session.close() }
        try lock(session)
        if case .foreign(let why) = try ownership(session) {
            throw ReadModelStoreError("not dropping schema \(schema) in database \(session.url.database): it belongs to something else (\(why))")
        }
        try session.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(quotedSchema) CASCADE"))
        logger.info("dropped the replaced copy's schema")
    }

    /// Closes the connection (releasing the schema's lock); a later call connects again.
    public func close() {
        // Released by a statement first: the server drops a closed connection's locks only once
        // its backend has exited, which can be after a new connection already asked for the lock.
        if session.isConnected { _ = try? session.query("SELECT pg_advisory_unlock_all()") }
        session.close()
    }

    /// `stats`' `readModel`: the server, the schema, whether connected, the last error.
    public var statistics: JSONValue {
        [
            "store": "postgres", "server": .string(session.url.endpoint), "database": .string(session.url.database),
            "schema": .string(schema), "connected": .bool(session.isConnected),
            "lastError": session.lastError.map(JSONValue.string) ?? .null,
        ]
    }

    // MARK: - Owning the schema

    private var quotedSchema: String { "\"\(schema)\"" }

    /// What a schema of our name is.
    private enum Ownership {
        case missing
        /// Ours, in the given layout version.
        case ours(version: Int)
        /// Someone else's (why, for the message).
        case foreign(String)
    }

    /// On every new connection: the lock, then the schema created, checked or emptied, then the functions.
    private func prepare(_ session: PostgresSession) throws {
        try lock(session)
        switch try ownership(session) {
        case .missing:
            try session.transaction(creation + functions)
            logger.info("created the read model's schema", metadata: ["postgres.database": "\(session.url.database)"])
            return
        case .foreign(let why):
            throw ReadModelStoreError(
                "schema \(schema) in database \(session.url.database) belongs to something else (\(why)): "
                    + "choose another --store-prefix, or drop the schema if it is a leftover", disconnected: true)
        case .ours(let version) where version != layout.version:
            logger.notice("the read model's schema has layout \(version), this build writes \(layout.version): emptying it to rebuild from the log")
            try session.transaction(["DROP SCHEMA \(quotedSchema) CASCADE"] + creation + functions)
        case .ours:
            // A new build's functions replace the old ones.
            try session.transaction(functions)
        }
    }

    /// Takes the schema's session-level advisory lock, held while the connection lives.
    private func lock(_ session: PostgresSession) throws {
        let rows = try session.query("SELECT pg_try_advisory_lock(hashtextextended(\(schema), 0))")
        guard try rows.first?.decode(Bool.self) == true else {
            throw ReadModelStoreError(
                "schema \(schema) in database \(session.url.database) is in use by another projector (it holds its advisory lock): "
                    + "run one projector per schema, or give this one another --store-prefix", disconnected: true)
        }
    }

    private func ownership(_ session: PostgresSession) throws -> Ownership {
        let found = try session.query("""
            SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = \(schema)),
                   EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = \(schema) AND tablename = 'prism_meta')
            """)
        let (exists, hasMeta) = try found[0].decode((Bool, Bool).self)
        guard exists else { return .missing }
        guard hasMeta else { return .foreign("it has no prism_meta table") }
        let meta = try session.query(PostgresQuery(unsafeSQL: "SELECT projector, schema_version FROM \(quotedSchema).prism_meta"))
        guard let row = meta.first else { return .foreign("its prism_meta table is empty") }
        let (projector, version) = try row.decode((String, Int).self)
        guard projector == namespace.projector else { return .foreign("its prism_meta names the \(projector) projector") }
        return .ours(version: version)
    }

    /// The model's functions and the batch statement's (`CREATE OR REPLACE`: run on every connection).
    private var functions: [String] { layout.functions + [Self.applyBatchFunction] }

    /// The schema with its bookkeeping and the layout's tables.
    private var creation: [String] {
        [
            "CREATE SCHEMA \(quotedSchema)",
            "CREATE TABLE \(quotedSchema).prism_meta (projector text NOT NULL, schema_version integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
            "INSERT INTO \(quotedSchema).prism_meta (projector, schema_version) VALUES ('\(namespace.projector)', \(layout.version))",
            "CREATE TABLE \(quotedSchema).prism_checkpoint (id integer PRIMARY KEY CHECK (id = 1), position bigint NOT NULL)",
            "INSERT INTO \(quotedSchema).prism_checkpoint (id, position) VALUES (1, 0)",
        ] + layout.tables
    }

    /// The one statement a batch is: the model's function, then the checkpoint.
    static let applyBatchFunction = """
        CREATE OR REPLACE FUNCTION prism_apply_batch(events jsonb, through bigint) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            IF jsonb_array_length(events) > 0 THEN
                PERFORM prism_apply_events(events);
            END IF;
            UPDATE prism_checkpoint SET position = through;
        END
        $$
        """
}

import Foundation
import PostgresNIO
import PostgresStore
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

/// `PostgresReadModel` against a real server (`scripts/store-server postgres`), with a model
/// that records each event's position and type.
@Suite struct PostgresReadModelTests {
    static let layout = PostgresReadModel.Layout(
        version: 1,
        tables: ["CREATE TABLE seen (position bigint PRIMARY KEY, type text NOT NULL)"],
        functions: [
            """
            CREATE OR REPLACE FUNCTION prism_apply_events(events jsonb) RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                IF events @> '[{"type": "Poison"}]' THEN RAISE EXCEPTION 'a poisoned event'; END IF;
                INSERT INTO seen SELECT position, type FROM jsonb_to_recordset(events) AS x(position bigint, type text);
            END
            $$
            """,
        ])

    static func model(_ url: String, prefix: String = "prism", projector: String = "count", layout: PostgresReadModel.Layout = layout) throws -> PostgresReadModel {
        try PostgresReadModel(
            settings: StoreSettings(kind: .postgres, postgresURL: url, prefix: prefix),
            namespace: StoreNamespace(prefix: prefix, projector: projector, generation: 1), layout: layout)
    }

    static func events(_ positions: ClosedRange<Int64>, type: String = "Counted") -> PostgresEventBatch {
        var batch = PostgresEventBatch()
        for position in positions {
            batch.append(event: RecordedEvent(
                id: UUID(), position: position, stream: "count-1", version: position - 1, type: type,
                data: Array(#"{"n":\#(position)}"#.utf8), metadata: nil, recordedAt: position))
        }
        return batch
    }

    static func seen(_ model: PostgresReadModel) throws -> [Int64] {
        try model.rows("SELECT position FROM seen ORDER BY position").map { try $0.decode(Int64.self) }
    }

    /// A session of its own, for looking at the server from outside the model.
    static func inspect(_ url: String, _ sql: PostgresQuery) throws -> [PostgresRow] {
        let session = PostgresSession(url: try PostgresURL(url), logger: .init(label: "test"))
        defer { session.close() }
        return try session.query(sql)
    }

    static func isStoreError(_ error: any Error, disconnected: Bool, saying text: String) -> Bool {
        guard let error = error as? ReadModelStoreError else { return false }
        return error.disconnected == disconnected && error.message.contains(text)
    }

    @Test func createsItsSchemaAppliesInOneStatementAndResumes() throws {
        let server = try PostgresServer()
        let model = try Self.model(server.url())
        #expect(try model.checkpoint() == 0)
        try model.apply(Self.events(1...3), through: 3)
        try model.apply(PostgresEventBatch(), through: 5)  // only the checkpoint moves
        #expect(try model.checkpoint() == 5)
        #expect(try Self.seen(model) == [1, 2, 3])
        let meta = try Self.inspect(server.url(), "SELECT projector, schema_version FROM prism_count_g1.prism_meta")
        #expect(try meta.map { try $0.decode((String, Int).self) }.first! == ("count", 1))
        model.close()

        let resumed = try Self.model(server.url())
        #expect(try resumed.checkpoint() == 5)
        #expect(try Self.seen(resumed) == [1, 2, 3])
    }

    @Test func aSchemaThatIsNotOursIsRefused() throws {
        let server = try PostgresServer()
        _ = try Self.inspect(server.url(), "CREATE SCHEMA prism_count_g1")
        #expect {
            try Self.model(server.url()).checkpoint()
        } throws: { error in
            Self.isStoreError(error, disconnected: true, saying: "schema prism_count_g1 in database prism belongs to something else (it has no prism_meta table)")
        }
        // prefix prism_x + projector count and prefix prism + projector x_count name the same schema.
        let other = try Self.model(server.url(), prefix: "prism", projector: "x_count")
        try other.apply(Self.events(1...1), through: 1)
        other.close()  // its lock would be refused first
        #expect {
            try Self.model(server.url(), prefix: "prism_x", projector: "count").checkpoint()
        } throws: { error in
            Self.isStoreError(error, disconnected: true, saying: "(its prism_meta names the x_count projector)")
        }
    }

    @Test func aSecondProjectorOnTheSameSchemaIsRefusedUntilTheFirstStops() throws {
        let server = try PostgresServer()
        let first = try Self.model(server.url())
        let second = try Self.model(server.url())
        try first.apply(Self.events(1...2), through: 2)
        #expect {
            try second.checkpoint()
        } throws: { error in
            Self.isStoreError(error, disconnected: true, saying: "schema prism_count_g1 in database prism is in use by another projector")
        }
        first.close()
        #expect(try second.checkpoint() == 2)
    }

    @Test func aWrongPasswordOrNoServerIsDisconnectedNamingTheCause() throws {
        let server = try PostgresServer()
        let model = try Self.model(server.url(password: "wrong"))
        #expect {
            try model.checkpoint()
        } throws: { error in
            Self.isStoreError(error, disconnected: true, saying: #"PostgreSQL at 127.0.0.1:\#(server.port) refused the connection: password authentication failed for user "prism" (SQLSTATE 28P01)"#)
        }
        #expect(model.statistics["connected"] == false)
        #expect(model.statistics["lastError"]?.stringValue?.contains("password authentication failed") == true)
        #expect {
            try model.rows("SELECT 1")
        } throws: { error in
            (error as? WireError)?.code == .unavailable
        }

        let port = freeTCPPort()
        #expect {
            try Self.model("postgres://prism:prism@127.0.0.1:\(port)/prism").checkpoint()
        } throws: { error in
            Self.isStoreError(error, disconnected: true, saying: "cannot connect to PostgreSQL at 127.0.0.1:\(port): connection refused")
        }
        #expect {
            try Self.model("postgres://prism:prism@127.0.0.1:\(server.port)/nowhere").checkpoint()
        } throws: { error in
            Self.isStoreError(error, disconnected: true, saying: #"database "nowhere" does not exist (SQLSTATE 3D000)"#)
        }
    }

    @Test func aStoppedServerIsDisconnectedAndTheModelResumesWhenItIsBack() throws {
        let server = try PostgresServer()
        let model = try Self.model(server.url())
        try model.apply(Self.events(1...4), through: 4)
        server.stop()
        #expect {
            try model.apply(Self.events(5...6), through: 6)
        } throws: { error in
            Self.isStoreError(error, disconnected: true, saying: "127.0.0.1:\(server.port)")
        }
        #expect {
            try model.rows("SELECT 1")
        } throws: { error in
            (error as? WireError)?.code == .unavailable
        }
        #expect(throws: ReadModelStoreError.self) { try model.checkpoint() }
        try server.start()
        #expect(try model.checkpoint() == 4, "read from the server, which never saw 5-6")
        try model.apply(Self.events(5...6), through: 6)
        #expect(try Self.seen(model) == Array(1...6))

        // A crash loses at most the last asynchronous commits; the checkpoint still matches the rows.
        server.kill()
        try server.start()
        let checkpoint = try model.checkpoint()
        #expect(try Self.seen(model) == Array(1...checkpoint))
    }

    @Test func anErrorFromTheDataIsNotAStoreError() throws {
        let server = try PostgresServer()
        let model = try Self.model(server.url())
        try model.apply(Self.events(1...1), through: 1)
        #expect {
            try model.apply(Self.events(2...2, type: "Poison"), through: 2)
        } throws: { error in
            ReadModelStoreError.from(error) == nil && "\(error)" == "PostgreSQL error P0001: a poisoned event"
        }
        #expect(try model.checkpoint() == 1, "the batch rolled back")
        try model.apply(Self.events(2...2), through: 2)
        #expect(try Self.seen(model) == [1, 2])
    }

    @Test func aSchemaDroppedUnderTheModelIsCreatedAgainFromCheckpointZero() throws {
        let server = try PostgresServer()
        let model = try Self.model(server.url())
        try model.apply(Self.events(1...2), through: 2)
        _ = try Self.inspect(server.url(), "DROP SCHEMA prism_count_g1 CASCADE")
        #expect {
            try model.apply(Self.events(3...3), through: 3)
        } throws: { error in
            Self.isStoreError(error, disconnected: true, saying: "was the schema dropped?")
        }
        #expect(try model.checkpoint() == 0, "the runtime catches the new copy up from the start")
        try model.apply(Self.events(1...3), through: 3)
        #expect(try Self.seen(model) == [1, 2, 3])
    }

    @Test func discardDropsTheSchemaAndANewLayoutEmptiesIt() throws {
        let server = try PostgresServer()
        let schemas = { () throws -> [String] in
            try Self.inspect(server.url(), "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'prism%' ORDER BY 1").map { try $0.decode(String.self) }
        }
        let model = try Self.model(server.url())
        try model.apply(Self.events(1...3), through: 3)
        var newer = Self.layout
        newer.version = 2
        let rebuilt = try Self.model(server.url(), layout: newer)
        model.close()
        #expect(try rebuilt.checkpoint() == 0, "emptied to rebuild from the log")
        #expect(try Self.seen(rebuilt) == [])
        #expect(try schemas() == ["prism_count_g1"])
        try rebuilt.discard()
        #expect(try schemas() == [])
    }
}

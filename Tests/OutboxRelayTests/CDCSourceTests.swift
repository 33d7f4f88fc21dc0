import Foundation
import JSON
import Logging
@testable import OutboxRelay
import PostgresNIO
import PostgresStore
import TestSupport
import Testing

/// CDC against a real PostgreSQL with wal_level = logical and wal2json, relayed into an
/// in-memory log that stores each event id once (as the write node does).
@Suite struct CDCSourceTests {
    static let logger = Logger(label: "cdc-test")

    /// The log the events reach: each id stored once; a re-sent id is counted, not stored again.
    final class MemoryLog {
        var events: [RelayEvent] = []
        var ids: Set<UUID> = []
        var resent = 0

        func store(_ batch: SourceBatch) -> RelayedBatch {
            for event in batch.events {
                if ids.insert(event.id).inserted { events.append(event) } else { resent += 1 }
            }
            return RelayedBatch(batch: batch, positions: [:], streamVersions: [:], deadLetters: batch.deadLetters)
        }

        func stream(_ name: String) -> [RelayEvent] { events.filter { $0.stream == name } }
    }

    /// A relay's connection with a CDC source on `tables`: takes the lock, which prepares the slot
    /// and snapshots what is new.
    static func open(
        _ server: PostgresServer, tables: [String], slot: String = "test_slot", mapping: any ChangeMapping = GenericMapping()
    ) throws -> (CDCSource, RelayDatabase) {
        let configuration = try CDCSource.Configuration(slot: slot, tables: tables.map { TableName($0)! }, mapping: mapping)
        let source = CDCSource(configuration: configuration, logger: logger)
        let database = RelayDatabase(url: try PostgresURL(server.url()), source: source, logger: logger)
        // A closed relay's backend may hold the lock a moment longer: wait as a standby relay would.
        guard try waitUntil(timeout: .seconds(20), interval: .milliseconds(20), { try database.acquireLock() }) else {
            throw TestFailure("the relay lock stays taken")
        }
        return (source, database)
    }

    /// One relay cycle: read, store, acknowledge. Returns how many events the batch had.
    @discardableResult
    static func relay(_ source: CDCSource, _ database: RelayDatabase, into log: MemoryLog) throws -> Int {
        let batch = try source.nextBatch(database, limit: 50)
        guard !batch.isEmpty else { return 0 }
        try source.acknowledge(log.store(batch), in: database)
        return batch.events.count
    }

    static func session(_ server: PostgresServer) throws -> PostgresSession {
        PostgresSession(url: try PostgresURL(server.url()), synchronousCommit: true, logger: logger)
    }

    // MARK: - Snapshot, then streaming

    /// Writers insert and increment counters while the slot is created, the snapshot taken and
    /// the stream read. Each counter's stream must then replay its row exactly: a first event
    /// with some value, then +1 per update, ending at the table's value. A change both in the
    /// snapshot and emitted would repeat a value; one in neither would skip one.
    @Test func snapshotThenStreamingHasNoGapAndNoDuplicate() throws {
        let server = try PostgresServer(logicalDecoding: true)
        let setup = try Self.session(server)
        try setup.transaction([
            "CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)",
            "INSERT INTO counters SELECT i, 0 FROM generate_series(1, 100) i",
        ])
        let stop = Locked(false), committed = Locked(0), failure = Locked<String?>(nil)
        let writers = DispatchGroup()
        for writer in 0..<4 {
            writers.enter()
            Thread.detachNewThread {
                defer { writers.leave() }
                do {
                    let session = try Self.session(server)
                    var random = SeededGenerator(seed: UInt64(writer + 1))
                    while !stop.withLock({ $0 }) {
                        // One or two rows per transaction; ids beyond 100 are inserted on the way.
                        let statements = (0..<Int.random(in: 1...2, using: &random)).map { _ in
                            "INSERT INTO counters VALUES (\(Int.random(in: 1...150, using: &random)), 0) ON CONFLICT (id) DO UPDATE SET n = counters.n + 1"
                        }
                        try session.transaction(statements)
                        committed.withLock { $0 += 1 }
                    }
                } catch {
                    failure.withLock { $0 = "\(error)" }
                }
            }
        }
        // The writers run before the slot exists, while it is created and snapshotted, and while it is read.
        waitUntil(timeout: .seconds(30)) { committed.withLock { $0 } >= 100 }
        let (source, database) = try Self.open(server, tables: ["public.counters"])
        let log = MemoryLog()
        let atSnapshot = committed.withLock { $0 }
        for _ in 0..<20 { try Self.relay(source, database, into: log) }
        waitUntil(timeout: .seconds(30)) { committed.withLock { $0 } >= atSnapshot + 300 }
        stop.withLock { $0 = true }
        writers.wait()
        #expect(failure.withLock { $0 } == nil)

        func expected() throws -> [String: Int64] {
            var rows: [String: Int64] = [:]
            for row in try setup.query("SELECT id, n FROM counters") {
                let (id, n) = try row.decode((Int32, Int32).self)
                rows["counters-\(id)"] = Int64(n)
            }
            return rows
        }
        let table = try expected()
        var replayed: [String: Int64] = [:]
        let caughtUp = try waitUntil(timeout: .seconds(60)) {
            try Self.relay(source, database, into: log)
            replayed = try Self.replay(log.events)
            return replayed == table
        }
        #expect(caughtUp, "the streams replay \(replayed.count) counters, the table has \(table.count)")
        #expect(log.resent == 0)
        #expect(log.events.contains { $0.type == "CountersSnapshotted" } && log.events.contains { $0.type == "CountersUpdated" })
        #expect(source.changesInSnapshot > 0, "no streamed change fell before the snapshot: the rule was not exercised")
    }

    /// Each counter's final value from its events, failing on a repeated or skipped value.
    static func replay(_ events: [RelayEvent]) throws -> [String: Int64] {
        var values: [String: Int64] = [:]
        for event in events {
            guard let n = event.data["n"]?.intValue else { throw TestFailure("\(event.type) without n") }
            switch event.type {
            case "CountersSnapshotted", "CountersInserted":
                if let previous = values[event.stream] { throw TestFailure("\(event.stream) starts again at \(n) after \(previous)") }
            case "CountersUpdated":
                guard let previous = values[event.stream], n == previous + 1 else {
                    throw TestFailure("\(event.stream) goes from \(values[event.stream].map(String.init) ?? "nothing") to \(n)")
                }
            default:
                throw TestFailure("unexpected \(event.type)")
            }
            values[event.stream] = n
        }
        return values
    }

    // MARK: - The capture set

    @Test func tablesAddedToAndRemovedFromTheCaptureSet() throws {
        let server = try PostgresServer(logicalDecoding: true)
        let app = try Self.session(server)
        try app.transaction([
            "CREATE TABLE users (id text PRIMARY KEY, name text NOT NULL)",
            "CREATE TABLE orders (id text PRIMARY KEY, note text NOT NULL)",
            "INSERT INTO users VALUES ('u1', 'Ann')",
            "INSERT INTO orders VALUES ('o1', 'first')",
        ])
        let log = MemoryLog()
        func drain(_ source: CDCSource, _ database: RelayDatabase) throws {
            while try Self.relay(source, database, into: log) > 0 {}
        }
        func types(_ stream: String) -> [String] { log.stream(stream).map(\.type) }

        // Users only: the orders are not read.
        var (source, database) = try Self.open(server, tables: ["public.users"])
        try app.transaction(["INSERT INTO orders VALUES ('o2', 'second')", "INSERT INTO users VALUES ('u2', 'Bob')"])
        try drain(source, database)
        #expect(types("users-u1") == ["UsersSnapshotted"] && types("users-u2") == ["UsersInserted"])
        #expect(!log.events.contains { $0.stream.hasPrefix("orders-") })
        database.close()

        // Orders added on restart: snapshotted (o2's streamed insert is in the snapshot, so it is
        // not emitted again), then streamed.
        try app.transaction(["INSERT INTO orders VALUES ('o3', 'third')", "INSERT INTO users VALUES ('u3', 'Cy')"])
        (source, database) = try Self.open(server, tables: ["public.users", "public.orders"])
        try app.transaction(["INSERT INTO orders VALUES ('o4', 'fourth')"])
        try drain(source, database)
        #expect(["o1", "o2", "o3"].map { types("orders-\($0)") } == Array(repeating: ["OrdersSnapshotted"], count: 3))
        #expect(types("orders-o4") == ["OrdersInserted"] && types("users-u3") == ["UsersInserted"])
        database.close()

        // Users removed: their changes are skipped, the orders' still flow.
        (source, database) = try Self.open(server, tables: ["public.orders"])
        try app.transaction(["UPDATE users SET name = 'Anna' WHERE id = 'u1'", "UPDATE orders SET note = 'changed' WHERE id = 'o1'"])
        try drain(source, database)
        #expect(types("users-u1") == ["UsersSnapshotted"])
        #expect(types("orders-o1") == ["OrdersSnapshotted", "OrdersUpdated"])
        #expect(log.stream("orders-o1").last?.metadata?["old"]?["note"] == nil, "the default replica identity logs no old note")
        let captured = try app.query("SELECT table_name FROM prism_cdc_tables").map { try $0.decode(String.self) }
        #expect(captured == ["public.orders"])
        #expect(log.resent == 0)
    }

    // MARK: - Dead letters

    /// A change the mapping cannot make events of (the orders mapping needs the old row, which a
    /// table without REPLICA IDENTITY FULL does not log) is parked with its reason; the rest flow.
    @Test func anUnmappableChangeIsParkedAndTheRestFlow() throws {
        let server = try PostgresServer(logicalDecoding: true)
        let app = try Self.session(server)
        try app.transaction([
            "CREATE TABLE users (user_id text PRIMARY KEY, name text NOT NULL, state text NOT NULL)",
            "INSERT INTO users VALUES ('u1', 'Ann', 'California')",
        ])
        let (source, database) = try Self.open(server, tables: ["public.users"], mapping: OrdersMapping())
        let log = MemoryLog()
        try app.transaction(["UPDATE users SET state = 'Texas' WHERE user_id = 'u1'", "INSERT INTO users VALUES ('u2', 'Bob', 'Ohio')"])
        while try Self.relay(source, database, into: log) > 0 {}
        #expect(log.events.map(\.type) == ["UserRegistered", "UserRegistered"])
        let parked = try app.query("SELECT stream, type, reason FROM prism_outbox_dead_letter").map { try $0.decode((String, String, String).self) }
        #expect(parked.count == 1)
        #expect(parked.first?.0 == "cdc-public.users" && parked.first?.1 == "UnmappedChange")
        #expect(parked.first?.2.contains("REPLICA IDENTITY FULL") == true)
    }

    // MARK: - Crashes

    /// A relay that stored a batch in the log and died before acknowledging it: the next one
    /// reads the same events with the same ids, for the snapshot and for the stream.
    @Test func aBatchReadAgainAfterACrashHasTheSameIds() throws {
        let server = try PostgresServer(logicalDecoding: true)
        let app = try Self.session(server)
        try app.transaction(["CREATE TABLE items (id int PRIMARY KEY, v text)", "INSERT INTO items SELECT i, 'a' FROM generate_series(1, 5) i"])
        var (source, database) = try Self.open(server, tables: ["items"])
        let snapshot = try source.nextBatch(database, limit: 3)
        database.close()
        (source, database) = try Self.open(server, tables: ["items"])
        #expect(try source.nextBatch(database, limit: 3).events == snapshot.events)
        let log = MemoryLog()
        while try Self.relay(source, database, into: log) > 0 {}
        #expect(log.events.count == 5)

        try app.transaction(["UPDATE items SET v = 'b'", "COPY items (id) FROM PROGRAM 'seq 6 8'"])
        let streamed = try source.nextBatch(database, limit: 50)
        #expect(streamed.events.count == 8)
        database.close()
        (source, database) = try Self.open(server, tables: ["items"])
        #expect(try source.nextBatch(database, limit: 50).events == streamed.events)
        while try Self.relay(source, database, into: log) > 0 {}
        #expect(log.events.count == 13 && log.resent == 0)
    }

    // MARK: - Retention

    @Test func reportsTheSlotsRetainedWAL() throws {
        let server = try PostgresServer(logicalDecoding: true)
        let app = try Self.session(server)
        try app.transaction(["CREATE TABLE items (id int PRIMARY KEY)"])
        let (source, database) = try Self.open(server, tables: ["items"])
        let before = try source.slotStatus(database)
        #expect(before.exists && before.isHealthy && before.walStatus == "reserved" && before.maxSlotWALKeepSize == "-1")
        try app.transaction(["INSERT INTO items SELECT generate_series(1, 20000)"])
        let held = try source.slotStatus(database)
        let retainedBefore = try #require(before.retainedBytes), retained = try #require(held.retainedBytes)
        #expect(retained > retainedBefore + 500_000)
        #expect(held.json["walStatus"] == "reserved")
    }

    /// Past max_slot_wal_keep_size the slot is lost: reported, refused with the way out, and a
    /// dropped slot starts over with a new snapshot.
    @Test func aSlotPastItsWALBoundIsReportedAndStartsOver() throws {
        let server = try PostgresServer(logicalDecoding: true, maxSlotWALKeepSize: "1MB")
        let app = try Self.session(server)
        try app.transaction([
            "CREATE TABLE items (id int PRIMARY KEY, v text)", "INSERT INTO items VALUES (1, 'a')", "CREATE TABLE filler (v text)",
        ])
        var (source, database) = try Self.open(server, tables: ["items"])
        let log = MemoryLog()
        while try Self.relay(source, database, into: log) > 0 {}
        // WAL the slot must keep (nobody reads it), well past 1 MB.
        try app.transaction(["INSERT INTO filler SELECT repeat('x', 200) FROM generate_series(1, 100000)"])
        try app.query("CHECKPOINT")
        let status = try source.slotStatus(database)
        #expect(status.walStatus == "lost" && !status.isHealthy)
        #expect(throws: CDCError.self) { try source.nextBatch(database, limit: 10) }
        database.close()

        try app.query("SELECT pg_drop_replication_slot('test_slot')")
        (source, database) = try Self.open(server, tables: ["items"])
        while try Self.relay(source, database, into: log) > 0 {}
        #expect(log.events.filter { $0.type == "ItemsSnapshotted" }.count == 2)
        try app.transaction(["UPDATE items SET v = 'b' WHERE id = 1"])
        while try Self.relay(source, database, into: log) > 0 {}
        #expect(log.stream("items-1").map(\.type) == ["ItemsSnapshotted", "ItemsSnapshotted", "ItemsUpdated"])
    }
}

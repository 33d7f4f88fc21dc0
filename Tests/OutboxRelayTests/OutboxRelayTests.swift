import Foundation
import PostgresNIO
import PostgresStore
import Testing
import TestSupport
import WireProtocol

/// The relay against a real PostgreSQL and a real write node: order, exactly once through crashes
/// and restarts, dead letters, the query endpoint.
@Suite(.serialized) struct OutboxRelayTests {
    /// Every id the log holds, with how often, and the events by stream in version order.
    private static func check(_ log: [RecordedEvent], holdsOnce ids: some Collection<UUID>) throws {
        var seen: [UUID: Int] = [:]
        for event in log { seen[event.id, default: 0] += 1 }
        let missing = ids.filter { seen[$0] == nil }
        let twice = seen.filter { $0.value > 1 }
        #expect(missing.isEmpty, "\(missing.count) rows never reached the log")
        #expect(twice.isEmpty, "\(twice.count) rows are in the log more than once")
        #expect(log.count == ids.count, "the log holds \(log.count) events for \(ids.count) rows")
    }

    private static func number(_ event: RecordedEvent) -> Int64? {
        (try? JSONParser.parse(event.data))?["n"]?.intValue
    }

    private static func waitUntilRelayed(_ system: RelaySystem, count: Int, timeout: Duration = .seconds(60)) throws {
        let done = try waitUntil(timeout: timeout, interval: .milliseconds(50)) {
            try system.outboxCount() == 0 && system.log().count >= count
        }
        #expect(done, "outbox still holds \((try? system.outboxCount()) ?? -1) rows; the log \((try? system.log().count) ?? -1) events")
    }

    @Test func eightConcurrentWritersAndALateCommitKeepEachStreamsOrder() throws {
        let system = try RelaySystem()
        let relay = try system.startRelay(["--batch-size", "50"])

        // The late commit: A takes its seq first and commits after B, which the relay stores first.
        let late = RelaySystem.session(system.postgres)
        defer { late.close() }
        try late.query("BEGIN")
        let a = UUID()
        try late.query("INSERT INTO prism_outbox (id, stream, type, data) VALUES (\(a), 'late-a', 'Noted', '{}')")
        let aSeq = try late.query("SELECT seq FROM prism_outbox WHERE id = \(a)").first!.decode(Int64.self)
        let b = try system.insert([("late-b", "Noted", "{}")])[0]
        let bPosition = try relay.query("positionOf", ["id": .string(b.uuidString)], waitMs: 10_000)["result"]?["position"]?.intValue
        #expect(bPosition != nil)
        try late.query("COMMIT")
        let aPosition = try relay.query("positionOf", ["id": .string(a.uuidString)], waitMs: 10_000)["result"]?["position"]?.intValue
        #expect(aPosition != nil && bPosition != nil && aPosition! > bPosition!, "A (seq \(aSeq)) must follow B in the log")

        // Eight writers: each its own streams, and all of them one shared stream under a lock (as an
        // application serializes the writes of one aggregate), with a counter giving each row its place.
        try system.application.transaction(["CREATE TABLE shared_counter (n bigint NOT NULL)", "INSERT INTO shared_counter VALUES (0)"])
        let written = Locked<[UUID]>([a, b])
        DispatchQueue.concurrentPerform(iterations: 8) { writer in
            let session = RelaySystem.session(system.postgres)
            defer { session.close() }
            var next: [String: Int] = [:]
            for round in 0..<40 {
                do {
                    let ids: [UUID] = try session.transaction {
                        var ids: [UUID] = []
                        for row in 0..<(1 + (round + writer) % 3) {
                            let stream = "w\(writer)-\((round + row) % 3)"
                            let id = UUID()
                            try session.query("INSERT INTO prism_outbox (id, stream, type, data) VALUES (\(id), \(stream), 'Noted', \(#"{"n": \#(next[stream, default: 0])}"#)::jsonb)")
                            next[stream, default: 0] += 1
                            ids.append(id)
                        }
                        if round % 4 == 0 {
                            try session.query("SELECT pg_advisory_xact_lock(42)")
                            let n = try session.query("UPDATE shared_counter SET n = n + 1 RETURNING n - 1").first!.decode(Int64.self)
                            let id = UUID()
                            try session.query("INSERT INTO prism_outbox (id, stream, type, data) VALUES (\(id), 'shared-1', 'Noted', \(#"{"n": \#(n)}"#)::jsonb)")
                            ids.append(id)
                        }
                        return ids
                    }
                    written.withLock { $0 += ids }
                } catch {
                    Issue.record("writer \(writer): \(error)")
                    return
                }
            }
        }
        let ids = written.withLock { $0 }
        try Self.waitUntilRelayed(system, count: ids.count)
        let log = try system.log()
        try Self.check(log, holdsOnce: ids)
        for (stream, events) in Dictionary(grouping: log, by: \.stream) where stream != "late-a" && stream != "late-b" {
            let numbers = events.sorted { $0.version < $1.version }.map { Self.number($0) ?? -1 }
            #expect(numbers == Array(0..<Int64(numbers.count)), "stream \(stream) is out of order: \(numbers.prefix(20))")
        }
        let stats = try relay.query("stats")["result"]
        #expect(stats?["relayed"]?.intValue == Int64(ids.count))
        #expect((stats?["lagUs"]?["count"]?.intValue ?? 0) > 0)
    }
}

import Foundation
import PostgresNIO
import PostgresStore
import Testing
import TestSupport
import WireProtocol

/// Exactly once in the log through relay crashes, write-node restarts and a PostgreSQL crash,
/// with an id window of one event so that only the exact expected versions can recognize a retry.
@Suite(.serialized) struct RelayCrashTests {
    private static func rows(_ count: Int, streams: Int, from start: Int = 0) -> [(stream: String, type: String, data: String)] {
        (start..<(start + count)).map { ("note-\($0 % streams)", "Noted", #"{"i": \#($0)}"#) }
    }

    @Test func aRelayKilledAfterTheAcknowledgementOrMidBatchStoresEachRowOnce() throws {
        let system = try RelaySystem(writeNodeArguments: ["--id-window-events", "1"])
        try system.createOutbox()
        var ids: [UUID] = []
        for chunk in 0..<20 { ids += try system.insert(Self.rows(20, streams: 7, from: chunk * 20)) }

        // Killed between the write node's acknowledgement and the outbox's: the batch is in the log,
        // the rows still in the outbox.
        let crashing = RelayProcess(system: system, arguments: ["--batch-size", "50"], environment: ["PRISM_RELAY_CRASH_AFTER_ACK": "1"])
        try crashing.launch()
        let status = crashing.waitForExit()
        #expect(status != nil && status != 0, "the relay was to kill itself after the first acknowledgement")
        #expect(try system.outboxCount() == 400)
        #expect(try system.log().count == 50)

        // The write node restarts (its id window holds one id), and the relay starts again.
        _ = system.writeNode.stop()
        try system.writeNode.start()
        var relay = try system.startRelay(["--batch-size", "50"])
        // More rows while the relay is killed mid-batch, again and again.
        for round in 0..<4 {
            ids += try system.insert(Self.rows(100, streams: 7, from: 400 + round * 100))
            let before = try system.outboxCount()
            waitUntil(timeout: .seconds(30), interval: .milliseconds(2)) { ((try? system.outboxCount()) ?? before) < before }
            relay.kill()
            relay = try system.startRelay(["--batch-size", "50"])
        }
        let settled = try waitUntil(timeout: .seconds(60), interval: .milliseconds(50)) { try system.outboxCount() == 0 }
        #expect(settled)
        let log = try system.log()
        var seen: [UUID: Int] = [:]
        for event in log { seen[event.id, default: 0] += 1 }
        #expect(ids.allSatisfy { seen[$0] == 1 }, "rows missing or stored twice: \(ids.filter { seen[$0] != 1 }.count)")
        #expect(log.count == ids.count)
        // Each stream in insertion order.
        for (_, events) in Dictionary(grouping: log, by: \.stream) {
            let order = events.sorted { $0.version < $1.version }.compactMap { (try? JSONParser.parse($0.data))?["i"]?.intValue }
            #expect(order == order.sorted())
        }
    }

    @Test func aWriteNodeDownIsReportedAndNothingIsLost() throws {
        let system = try RelaySystem(writeNodeArguments: ["--id-window-events", "1"])
        let relay = try system.startRelay(["--batch-size", "20"])
        var ids = try system.insert(Self.rows(30, streams: 3))
        _ = system.writeNode.stop()
        ids += try system.insert(Self.rows(30, streams: 3, from: 30))
        let reported = waitUntil(timeout: .seconds(20), interval: .milliseconds(50)) {
            (try? relay.query("health"))?["result"]?["writeNode"]?["status"]?.stringValue == "disconnected"
        }
        #expect(reported)
        #expect(relay.healthStatus == "disconnected")
        try system.writeNode.start()
        let settled = try waitUntil(timeout: .seconds(60), interval: .milliseconds(50)) { try system.outboxCount() == 0 }
        #expect(settled)
        #expect(waitUntil(timeout: .seconds(10)) { relay.healthStatus == "serving" })
        let log = try system.log()
        #expect(Set(log.map(\.id)) == Set(ids) && log.count == ids.count)
    }

    @Test func postgresRestartedUnderLoadLosesNothing() throws {
        let system = try RelaySystem()
        let relay = try system.startRelay(["--batch-size", "20", "--poll-interval-ms", "100"])
        let committed = Locked<[UUID]>([])
        let uncertain = Locked<[UUID]>([])
        let stop = Locked(false)
        let writer = Thread {
            var session = RelaySystem.session(system.postgres)
            var i = 0
            while !stop.withLock({ $0 }) {
                let id = UUID()
                do {
                    try session.transaction {
                        try session.query("INSERT INTO prism_outbox (id, stream, type, data) VALUES (\(id), \("load-\(i % 5)"), 'Noted', \(#"{"i": \#(i)}"#)::jsonb)")
                    }
                    committed.withLock { $0.append(id) }
                    i += 1
                } catch {
                    // The commit's fate is unknown when the connection broke: the row may or may not be there.
                    uncertain.withLock { $0.append(id) }
                    session.close()
                    session = RelaySystem.session(system.postgres)
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
            session.close()
        }
        writer.start()
        waitUntil(timeout: .seconds(30)) { committed.withLock { $0.count } >= 150 }
        system.postgres.kill()
        #expect(waitUntil(timeout: .seconds(20), interval: .milliseconds(50)) { relay.healthStatus == "disconnected" })
        try system.postgres.start()
        let resumed = committed.withLock { $0.count }
        waitUntil(timeout: .seconds(60)) { committed.withLock { $0.count } >= resumed + 150 }
        stop.withLock { $0 = true }
        waitUntil(timeout: .seconds(10)) { writer.isFinished }
        let settled = try waitUntil(timeout: .seconds(60), interval: .milliseconds(50)) { try system.outboxCount() == 0 }
        #expect(settled)
        #expect(relay.healthStatus == "serving")
        let log = try system.log()
        var seen: [UUID: Int] = [:]
        for event in log { seen[event.id, default: 0] += 1 }
        let ids = committed.withLock { $0 }
        let maybe = Set(uncertain.withLock { $0 })
        #expect(ids.allSatisfy { seen[$0] == 1 })
        #expect(seen.allSatisfy { $0.value == 1 && (Set(ids).contains($0.key) || maybe.contains($0.key)) })
    }
}

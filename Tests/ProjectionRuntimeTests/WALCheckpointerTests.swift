import Foundation
import GRDB
import ProjectionRuntime
import Testing
import TestSupport
import WireProtocol

/// The read model's WAL is checkpointed off the apply thread and stays bounded.
struct WALCheckpointerTests {
    static let thresholds = WALCheckpointer.Thresholds(
        passiveBytes: 256 << 10, restartBytes: 1 << 20, applyThreadBytes: 4 << 20, idleMilliseconds: 20)

    static func openModel(_ directory: String) throws -> SQLiteReadModel {
        try SQLiteReadModel(directory: directory, fileName: "wal.sqlite", tables: ["blobs"], checkpoints: thresholds) { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        }
    }

    static func walFileSize(_ model: SQLiteReadModel) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: model.path + "-wal")[.size] as? Int) ?? 0
    }

    @Test func walStaysBoundedUnderSteadyWrites() throws {
        try withTemporaryDirectory { directory in
            let model = try Self.openModel(directory)
            let batchBytes = 64 << 10
            var largestWAL = 0
            for batch in 1...300 {  // ~19 MB in all, far past every threshold
                try model.apply(through: Int64(batch)) { db in
                    for row in 0..<16 {
                        // Rows that update the same keys: the database stays small, only the WAL could grow.
                        try db.execute(sql: "INSERT OR REPLACE INTO blobs (id, body) VALUES (?, randomblob(?))",
                                       arguments: [row, batchBytes / 16])
                    }
                }
                largestWAL = max(largestWAL, Self.walFileSize(model))
            }
            // The apply thread checkpoints itself past applyThreadBytes, so the WAL never grows
            // more than a transaction or two beyond it, whatever the checkpointing thread does.
            #expect(largestWAL <= Self.thresholds.applyThreadBytes + 4 * batchBytes, "largest WAL \(largestWAL) bytes; \(model.walStatus.json.jsonString)")
            let status = model.walStatus
            #expect(status.checkpoints + status.applyThreadCheckpoints > 0)
            #expect(status.pagesCheckpointed > 0)
            #expect(status.lastError == nil)
            #expect(try model.checkpoint() == 300)
        }
    }

    @Test func anIdleModelIsCheckpointedByTheCheckpointingThread() throws {
        try withTemporaryDirectory { directory in
            let model = try Self.openModel(directory)
            try model.apply(through: 1) { db in
                try db.execute(sql: "INSERT INTO blobs (id, body) VALUES (1, randomblob(1000))")
            }
            // Below every size threshold: only the idle rule checkpoints it. Poll, bounded.
            let deadline = Date().addingTimeInterval(10)
            while model.walStatus.pagesCheckpointed == 0, Date() < deadline { usleep(5_000) }
            #expect(model.walStatus.checkpoints > 0)
            #expect(model.walStatus.pagesCheckpointed > 0)  // it copied pages, not just ran
            #expect(model.walStatus.applyThreadCheckpoints == 0)
            // A fresh connection sees the row in the database file after the checkpoint too.
            #expect(try model.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blobs") } == 1)
        }
    }
}

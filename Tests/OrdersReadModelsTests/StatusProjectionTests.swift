import EventStore
import Foundation
import OrdersReadModels
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

@Suite struct StatusProjectionTests {
    private func orderStatus(_ projection: StatusProjection, _ orderId: String) throws -> JSONValue {
        try projection.query("orderStatus", params: ["orderId": .string(orderId)])
    }

    private func userOrders(_ projection: StatusProjection, _ userId: String, limit: Int64? = nil) throws -> JSONValue {
        var params: [String: JSONValue] = ["userId": .string(userId)]
        if let limit { params["limit"] = .int(limit) }
        return try projection.query("userOrders", params: .object(params))
    }

    private func sampleLog() -> HistoryStatusTestLog { .statusSample() }

    @Test func orderLifecycle() throws {
        try withTemporaryDirectory { directory in
            let projection = try StatusProjection(directory: directory)
            #expect(try projection.checkpoint() == 0)
            #expect(try orderStatus(projection, "o1") == .null)

            var log = HistoryStatusTestLog()
            log.create("o1", user: "u1")
            try projection.apply(log.events, through: 1)
            #expect(try orderStatus(projection, "o1") == ["orderId": "o1", "status": "payment_pending", "userId": "u1"])

            for (step, expected) in [("pay", "paid"), ("ship", "shipped")] {
                let before = log.events.count
                if step == "pay" { log.pay("o1", user: "u1") } else { log.ship("o1", user: "u1") }
                try projection.apply(Array(log.events[before...]), through: log.lastPosition)
                #expect(try orderStatus(projection, "o1") == ["orderId": "o1", "status": .string(expected), "userId": "u1"])
            }

            let before = log.events.count
            log.create("o2", user: "u1")
            log.cancel("o2", user: "u1")
            try projection.apply(Array(log.events[before...]), through: log.lastPosition)
            #expect(try orderStatus(projection, "o2") == ["orderId": "o2", "status": "cancelled", "userId": "u1"])
            #expect(try orderStatus(projection, "o3") == .null)
            #expect(try projection.checkpoint() == 5)
        }
    }

    @Test func ignoresForeignTypesAndBadData() throws {
        try withTemporaryDirectory { directory in
            let projection = try StatusProjection(directory: directory)
            let log = sampleLog()
            try projection.apply(log.events, through: log.lastPosition)
            #expect(try orderStatus(projection, "o9") == .null)
            #expect(projection.orderCount == 5)
            #expect(try projection.checkpoint() == log.lastPosition)
        }
    }

    @Test func userOrdersInCreationOrderWithLimit() throws {
        try withTemporaryDirectory { directory in
            let projection = try StatusProjection(directory: directory)
            let log = sampleLog()
            try projection.apply(log.orderEvents, through: log.lastPosition)
            #expect(
                try userOrders(projection, "u1") == [
                    "userId": "u1",
                    "orders": [
                        ["orderId": "o1", "status": "shipped"], ["orderId": "o3", "status": "cancelled"],
                        ["orderId": "o5", "status": "payment_pending"],
                    ],
                ])
            #expect(
                try userOrders(projection, "u2") == [
                    "userId": "u2", "orders": [["orderId": "o2", "status": "paid"], ["orderId": "o4", "status": "payment_pending"]],
                ])
            #expect(
                try userOrders(projection, "u1", limit: 2) == [
                    "userId": "u1", "orders": [["orderId": "o1", "status": "shipped"], ["orderId": "o3", "status": "cancelled"]],
                ])
            #expect(try userOrders(projection, "nobody") == ["userId": "nobody", "orders": []])
        }
    }

    @Test func userOrdersDefaultAndMaximumLimit() throws {
        try withTemporaryDirectory { directory in
            let projection = try StatusProjection(directory: directory)
            var log = HistoryStatusTestLog()
            for index in 0..<1100 { log.create("o\(index)", user: "u1") }
            try projection.apply(log.events, through: log.lastPosition)
            func ids(_ result: JSONValue) -> [String] {
                (result["orders"]?.arrayValue ?? []).compactMap { $0["orderId"]?.stringValue }
            }
            #expect(ids(try userOrders(projection, "u1")) == (0..<100).map { "o\($0)" })
            #expect(ids(try userOrders(projection, "u1", limit: 1000)) == (0..<1000).map { "o\($0)" })
            #expect(ids(try userOrders(projection, "u1", limit: 1)) == ["o0"])
        }
    }

    @Test func snapshotAndReopenRestoreStateAndCheckpoint() throws {
        try withTemporaryDirectory { directory in
            let log = sampleLog()
            let projection = try StatusProjection(directory: directory)
            try projection.apply(log.orderEvents, through: log.lastPosition + 3)  // a filtered feed scanned further
            try projection.saveSnapshot()
            #expect(FileManager.default.fileExists(atPath: directory + "/status.snapshot"))
            #expect(!FileManager.default.fileExists(atPath: directory + "/status.snapshot.tmp"))

            let reopened = try StatusProjection(directory: directory)
            #expect(try reopened.checkpoint() == log.lastPosition + 3)
            #expect(try reopened.digest() == projection.digest())
            for orderId in ["o1", "o2", "o3", "o4", "o5", "o9"] {
                #expect(try orderStatus(reopened, orderId) == orderStatus(projection, orderId))
            }
            for userId in ["u1", "u2"] {
                #expect(try userOrders(reopened, userId) == userOrders(projection, userId))
            }
        }
    }

    @Test func eventsAfterTheLastSnapshotAreNotInAReopenedModel() throws {
        try withTemporaryDirectory { directory in
            var log = HistoryStatusTestLog()
            for index in 1...5 { log.create("o\(index)", user: "u1") }
            let live = try StatusProjection(directory: directory, snapshotEvery: 3)
            try live.apply(Array(log.events[0..<3]), through: 3)  // reaches snapshotEvery: snapshot at 3
            try live.apply(Array(log.events[3..<5]), through: 5)  // 2 more: memory only
            #expect(try live.checkpoint() == 5)
            live.finishSnapshotWrites()

            // What a crash would leave: the snapshot's state and checkpoint, nothing after it.
            let reopened = try StatusProjection(directory: directory, snapshotEvery: 3)
            #expect(try reopened.checkpoint() == 3)
            #expect(try orderStatus(reopened, "o3") != .null)
            #expect(try orderStatus(reopened, "o4") == .null)
            #expect(try userOrders(reopened, "u1")["orders"]?.arrayValue?.count == 3)

            // Replaying from the checkpoint catches up exactly.
            try reopened.apply(Array(log.events[3...]), through: 5)
            #expect(try reopened.digest() == live.digest())
        }
    }

    @Test func saveSnapshotWithoutChangesWritesNothing() throws {
        try withTemporaryDirectory { directory in
            let projection = try StatusProjection(directory: directory)
            try projection.saveSnapshot()
            #expect(!FileManager.default.fileExists(atPath: directory + "/status.snapshot"))
            try projection.apply([], through: 42)  // only the checkpoint moves
            try projection.saveSnapshot()
            #expect(try StatusProjection(directory: directory).checkpoint() == 42)
        }
    }

    enum Damage: String, CaseIterable, Sendable {
        case empty, truncated, flippedByte, badMagic, extraBytes, newerVersion
    }

    @Test(arguments: Damage.allCases)
    func damagedSnapshotIsAnErrorNamingTheFile(damage: Damage) throws {
        try withTemporaryDirectory { directory in
            let log = sampleLog()
            let projection = try StatusProjection(directory: directory)
            try projection.apply(log.orderEvents, through: log.lastPosition)
            try projection.saveSnapshot()
            let path = directory + "/status.snapshot"
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            switch damage {
            case .empty: bytes = []
            case .truncated: bytes.removeLast(bytes.count / 3)
            case .flippedByte: bytes[bytes.count / 2] ^= 0x20
            case .badMagic: bytes[0] = UInt8(ascii: "X")
            case .extraBytes: bytes += [0, 0, 0]
            case .newerVersion: bytes[8] = 2
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: StatusSnapshotError.self) { try StatusProjection(directory: directory) }
            #expect(error?.code == .corrupt)
            #expect(error?.path == path)
            #expect(error?.message.contains(path) == true, "\(error?.message ?? "")")
        }
    }

    @Test func corruptSnapshotMessagesStateTheProblem() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/status.snapshot"
            try Data("PRSMSTAT".utf8).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: StatusSnapshotError.self) { try StatusProjection(directory: directory) }
            #expect(
                error?.message
                    == "status snapshot \(path) is corrupt: truncated: 8 bytes, less than the 56-byte minimum; delete it to rebuild the status model from the log"
            )
        }
    }

    @Test func resetClearsMemoryAndDeletesTheSnapshot() throws {
        try withTemporaryDirectory { directory in
            let log = sampleLog()
            let projection = try StatusProjection(directory: directory)
            try projection.apply(log.orderEvents, through: log.lastPosition)
            try projection.saveSnapshot()
            let emptyDigest = try StatusProjection(directory: directory + "/empty").digest()
            try projection.reset()
            #expect(try projection.checkpoint() == 0)
            #expect(try projection.digest() == emptyDigest)
            #expect(try orderStatus(projection, "o1") == .null)
            #expect(try userOrders(projection, "u1") == ["userId": "u1", "orders": []])
            #expect(!FileManager.default.fileExists(atPath: directory + "/status.snapshot"))
            #expect(try StatusProjection(directory: directory).checkpoint() == 0)

            // Rebuilt from position 0 it equals a fresh build.
            try projection.apply(log.orderEvents, through: log.lastPosition)
            let fresh = try StatusProjection(directory: directory + "/fresh")
            try fresh.apply(log.orderEvents, through: log.lastPosition)
            #expect(try projection.digest() == fresh.digest())
        }
    }

    @Test(arguments: [[1], [2, 5], [3], [100], [7, 1, 2]])
    func batchSplitsGiveTheSameDigest(sizes: [Int]) throws {
        try withTemporaryDirectory { directory in
            var log = sampleLog()
            for index in 10..<60 {
                log.create("o\(index)", user: "u\(index % 4)", cents: Int64(index))
                if index % 3 == 0 { log.pay("o\(index - 1)", user: "u\((index - 1) % 4)") }
                if index % 7 == 0 { log.cancel("o\(index - 2)", user: "u\((index - 2) % 4)") }
            }
            let whole = try StatusProjection(directory: directory + "/whole")
            try whole.apply(log.orderEvents, through: log.lastPosition)
            let split = try StatusProjection(directory: directory + "/split", snapshotEvery: 4)
            try applyInBatches(split, log.orderEvents, sizes: sizes)
            #expect(try split.digest() == whole.digest())
            #expect(try split.checkpoint() == whole.checkpoint())
            // Snapshots taken along the way, then a final one, reopen to the same model.
            try split.saveSnapshot()
            #expect(try StatusProjection(directory: directory + "/split").digest() == whole.digest())
        }
    }

    @Test func digestDependsOnContent() throws {
        try withTemporaryDirectory { directory in
            var log = HistoryStatusTestLog()
            log.create("o1", user: "u1")
            let first = try StatusProjection(directory: directory + "/a")
            try first.apply(log.events, through: 1)
            log.pay("o1", user: "u1")
            let second = try StatusProjection(directory: directory + "/b")
            try second.apply(log.events, through: 2)
            #expect(try first.digest() != second.digest())
        }
    }

    @Test func unknownQuery() throws {
        try withTemporaryDirectory { directory in
            let projection = try StatusProjection(directory: directory)
            #expect(projection.queryNames == ["orderStatus", "userOrders"])
            #expect(
                queryError(projection, "x", [:])
                    == WireError(.unknownQuery, "unknown query 'x' (status answers: orderStatus, userOrders)"))
        }
    }

    @Test(arguments: statusInvalidParams)
    func invalidParams(query: String, params: JSONValue, message: String) throws {
        try withTemporaryDirectory { directory in
            let projection = try StatusProjection(directory: directory)
            #expect(queryError(projection, query, params) == WireError(.invalidArgument, message))
        }
    }

    /// The correctness half of the benchmark below, at a size the suite can afford: a snapshot of
    /// a large model reloads to the same digest, and batch sizes do not change the model.
    @Test func snapshotOfALargeModelReloadsToTheSameDigest() throws {
        try withTemporaryDirectory { directory in
            let events = historyStatusBenchmarkLog(orders: 20_000, users: 2_000).orderEvents
            let projection = try StatusProjection(directory: directory + "/a", snapshotEvery: Int.max)
            try applyInBatches(projection, events, sizes: [1000])
            try projection.saveSnapshot()
            let reopened = try StatusProjection(directory: directory + "/a")
            #expect(try reopened.digest() == projection.digest())
            let rebuilt = try StatusProjection(directory: directory + "/b", snapshotEvery: Int.max)
            try applyInBatches(rebuilt, events, sizes: [1, 7, 300])
            #expect(try rebuilt.digest() == projection.digest(), "batch sizes changed the model")
            #expect(projection.orderCount == 20_000)
        }
    }

    /// Prints apply, snapshot save and load rates for 1,000,000 orders (about 2.7 million events).
    @Test(.enabled(if: historyStatusBenchmarksEnabled)) func benchmark() throws {
        try withTemporaryDirectory { directory in
            let log = historyStatusBenchmarkLog(orders: 1_000_000, users: 100_000)
            let events = log.orderEvents
            let projection = try StatusProjection(directory: directory, snapshotEvery: Int.max)
            let applySeconds = try historyStatusSeconds { try applyInBatches(projection, events, sizes: [1000]) }
            let saveSeconds = try historyStatusSeconds { try projection.saveSnapshot() }
            let size = (try FileManager.default.attributesOfItem(atPath: projection.snapshotPath)[.size] as? Int) ?? 0
            var reopened: StatusProjection?
            let loadSeconds = try historyStatusSeconds { reopened = try StatusProjection(directory: directory) }
            #expect(try reopened?.digest() == projection.digest())
            print(
                """
                status benchmark: applied \(historyStatusRate(events.count, applySeconds)); \
                snapshot of \(projection.orderCount) orders (\(size) bytes) saved in \(saveSeconds.wall) s wall (\(saveSeconds.cpu) s CPU), \
                loaded in \(loadSeconds.wall) s wall (\(loadSeconds.cpu) s CPU)
                """)
        }
    }
}

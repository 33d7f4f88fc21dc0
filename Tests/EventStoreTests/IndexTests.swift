@testable import EventStore
import Foundation
import Testing

/// The index is off the commit path and rebuildable: deleted, behind (an older copy, as after an
/// indexer killed mid-transaction: SQLite rolls the transaction back, so the checkpoint is
/// behind the log), or not yet caught up with the last appends, reads are the same.
@Suite struct IndexTests {
    /// Appends `count` events over a few streams, categories and types; returns them.
    static func seed(_ store: EventStore, count: Int, eventsPerGroup: Int = 10) throws -> [RecordedEvent] {
        var written: [RecordedEvent] = []
        var index = 0
        while index < count {
            let requests = (index..<min(count, index + eventsPerGroup)).map { n in
                AppendRequest(stream: ["order", "user", "invoice"][n % 3] + "-\(n % 7)", expectedVersion: .any, events: [event(n % 2 == 0 ? "Created" : "Changed")])
            }
            written += try store.append(requests).flatMap { try $0.get() }
            index += requests.count
        }
        return written
    }

    /// Every kind of read, against what was written.
    static func expectReads(_ store: EventStore, match written: [RecordedEvent], sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try store.readAll() == written, sourceLocation: sourceLocation)
        let middle = Int64(written.count / 2)
        #expect(try store.read(after: middle, limit: 25) == Array(written.dropFirst(Int(middle)).prefix(25)), sourceLocation: sourceLocation)
        let filter = EventFilter(categories: ["user", "invoice"], types: ["Created"])
        #expect(try store.read(after: 3, limit: 40, filter: filter) == Array(written.filter { $0.position > 3 && filter.matches($0) }.prefix(40)), sourceLocation: sourceLocation)
        #expect(try store.read(after: 0, limit: 100_000, filter: EventFilter(categories: ["order"])) == written.filter { $0.category == "order" }, sourceLocation: sourceLocation)
        for stream in Set(written.map(\.stream)) {
            let events = written.filter { $0.stream == stream }
            #expect(try store.readStream(stream, limit: 100_000) == events, sourceLocation: sourceLocation)
            #expect(try store.readStream(stream, fromVersion: 3, limit: 4) == Array(events.dropFirst(3).prefix(4)), sourceLocation: sourceLocation)
            #expect(try store.streamVersion(stream) == events.last?.version, sourceLocation: sourceLocation)
        }
        var categories: [String: Int64] = [:]
        for event in written { categories[event.category] = event.position }
        #expect(try store.lastPositionByCategory() == categories, sourceLocation: sourceLocation)
    }

    static func removeIndex(in path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + "/" + LogIndex.fileName + suffix) }
    }

    @Test func aDeletedIndexIsRebuiltOnOpen() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small())
            let written = try Self.seed(store, count: 3000)
            try store.close()
            Self.removeIndex(in: path)

            let reopened = try EventStore(directory: path, options: .small())
            defer { try? reopened.close() }
            #expect(reopened.indexedPosition == 3000)
            try Self.expectReads(reopened, match: written)
            let next = try reopened.append("order-1", .exact(try #require(written.last { $0.stream == "order-1" }).version), [event()])
            #expect(next.map(\.position) == [3001])
            try expectSound(path)
        }
    }

    /// The index from an earlier moment (copied while the store was closed) put back: its
    /// checkpoint is behind the log, and the open catches it up.
    @Test func anIndexBehindTheLogCatchesUpOnOpen() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let saved = directory.appending("saved")
            try FileManager.default.createDirectory(atPath: saved, withIntermediateDirectories: true)
            var options = EventStore.Options.small()
            options.indexBatchEvents = 64
            var store = try EventStore(directory: path, options: options)
            var written = try Self.seed(store, count: 500)
            try store.close()
            for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasPrefix(LogIndex.fileName) {
                try FileManager.default.copyItem(atPath: path + "/" + name, toPath: saved + "/" + name)
            }
            store = try EventStore(directory: path, options: options)
            written += try Self.seed(store, count: 1500)
            try store.close()
            Self.removeIndex(in: path)
            for name in try FileManager.default.contentsOfDirectory(atPath: saved) {
                try FileManager.default.copyItem(atPath: saved + "/" + name, toPath: path + "/" + name)
            }
            #expect(try StoreVerifier.verify(directory: path).indexedPosition == 500)

            store = try EventStore(directory: path, options: options)
            defer { try? store.close() }
            #expect(store.indexedPosition == 2000)
            try Self.expectReads(store, match: written)
            try expectSound(path)
        }
    }

    /// A large backlog (200,000 events; `scripts/soak` runs 1,000,000 with
    /// `PRISM_INDEX_BACKLOG=1000000`) indexed by the open in `indexBatchEvents`-sized transactions.
    @Test func anIndexFarBehindCatchesUpOnOpen() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            var options = EventStore.Options()
            options.segmentBytes = 8 << 20
            let total = max(20_000, Int(ProcessInfo.processInfo.environment["PRISM_INDEX_BACKLOG"] ?? "") ?? 200_000) / 2000 * 2000
            var store = try EventStore(directory: path, options: options)
            var written: [RecordedEvent] = []
            for batch in 0..<(total / 2000) {
                let requests = (0..<200).map { n in
                    AppendRequest(stream: "item-\((batch * 200 + n) % 1000)", expectedVersion: .any, events: (0..<10).map { _ in NewEvent(type: "T", data: []) })
                }
                written += try store.append(requests).flatMap { try $0.get() }
            }
            try store.close()
            Self.removeIndex(in: path)

            let clock = ContinuousClock()
            let start = clock.now
            store = try EventStore(directory: path, options: options)
            defer { try? store.close() }
            print("IndexTests: indexed \(total) events on open in \(clock.now - start)")
            #expect(store.indexedPosition == Int64(total))
            #expect(try store.read(after: 0, limit: 100_000) == Array(written.prefix(100_000)))
            #expect(try store.read(after: Int64(total) * 3 / 4, limit: 10) == Array(written[(total * 3 / 4)..<(total * 3 / 4 + 10)]))
            #expect(try store.readStream("item-999", limit: 1000) == written.filter { $0.stream == "item-999" })
            let version = Int64(total / 1000) - 1
            #expect(try store.streamVersion("item-0") == version)
            let next = try store.append("item-0", .exact(version), [event()])
            #expect(next.map(\.position) == [Int64(total) + 1])
        }
    }

    /// Right after appends the indexer has not reached them: reads combine the index with the
    /// groups in memory. (The indexer is stopped here so that this holds for certain.)
    @Test func readsCombineTheIndexWithTheTailNotYetIndexed() throws {
        try withStore { store, directory in
            var written = try Self.seed(store, count: 300)
            #expect(waitUntil { store.indexedPosition == 300 })
            store.indexer.stop()
            written += try Self.seed(store, count: 200, eventsPerGroup: 7)
            written += try store.append("fresh-1", .noStream, [event("Created"), event()])
            #expect(store.indexedPosition == 300)
            #expect(store.headPosition == 502)
            try Self.expectReads(store, match: written)
            // Expected versions of streams whose head is only in the tail.
            #expect(try store.append([AppendRequest(stream: "fresh-1", expectedVersion: .exact(0), events: [event()])])[0].failure?.code == .wrongExpectedVersion)
            written += try store.append("fresh-1", .exact(1), [event()])
            try store.close()

            let reopened = try EventStore(directory: directory, options: .small())
            defer { try? reopened.close() }
            #expect(reopened.indexedPosition == 503)
            try Self.expectReads(reopened, match: written)
        }
    }

    @Test func theIndexerKeepsUpInSmallTransactions() throws {
        var options = EventStore.Options.small()
        options.indexBatchEvents = 7
        try withStore(options: options) { store, directory in
            let written = try Self.seed(store, count: 1000, eventsPerGroup: 3)
            #expect(waitUntil { store.indexedPosition == store.headPosition })
            try Self.expectReads(store, match: written)
            let report = try expectSound(directory)
            #expect(report.indexedPosition == 1000)
        }
    }

    /// Bounded stream heads: past `maxCachedStreams`, heads the index holds are dropped and looked
    /// up again, and expected versions stay right.
    @Test func streamHeadsRefillFromTheIndex() throws {
        var options = EventStore.Options.small()
        options.maxCachedStreams = 5
        try withStore(options: options) { store, _ in
            for round in 0..<3 {
                for stream in 0..<20 {
                    try store.append("s-\(stream)", round == 0 ? .noStream : .exact(Int64(round - 1)), [event()])
                }
                #expect(waitUntil { store.indexedPosition == store.headPosition })
            }
            #expect(store.cacheCounts.streams <= 20)
            let stale = try store.append([AppendRequest(stream: "s-3", expectedVersion: .exact(1), events: [event()])])
            #expect(stale[0].failure == EventStoreError(.wrongExpectedVersion, "Wrong expected version: 1 (stream: s-3, stream version: 2)"))
        }
    }
}

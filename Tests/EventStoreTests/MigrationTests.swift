#if canImport(Glibc)
import Glibc
#endif
import EventStore
import Foundation
import TestSupport
import Testing

/// `LogMigration`: the old SQLite store into the segmented log, proven, swapped in, restartable.
@Suite struct MigrationTests {
    /// Small segments, so a few hundred events span several of them.
    static var options: EventStore.Options {
        var options = EventStore.Options()
        options.segmentBytes = 64 << 10
        return options
    }

    @Test func migratedLogReadsBackTheSameEventsAndVerifies() throws {
        try withTemporaryDirectory("prism-migration") { (path: String) in
            let events = LegacyStoreFixture.sampleEvents(count: 700, streams: 9)
            try LegacyStoreFixture.create(in: path, events: events)

            let report = try LogMigration.migrate(directory: path, options: Self.options, batchEvents: 128)
            #expect(report.source == report.log)
            #expect(report.log.count == 700 && report.log.head == 700 && report.log.isGapFree)
            #expect(report.verification.isSound, "\(report.verification.problems)")
            #expect(report.verification.segments > 1, "64 KiB segments should have rolled")
            #expect(!report.resumed)

            let files = try FileManager.default.contentsOfDirectory(atPath: path)
            #expect(!files.contains("events.sqlite"))
            #expect(files.contains("events.sqlite.migrated"))
            #expect(!files.contains(LogMigration.stagingName))

            let store = try EventStore(directory: path, options: Self.options)
            defer { try? store.close() }
            #expect(store.headPosition == 700)
            #expect(try store.read(after: 0, limit: 10_000) == events)
            for stream in Set(events.map(\.stream)) {
                #expect(try store.readStream(stream) == events.filter { $0.stream == stream })
            }
            // The migrated log takes new appends after the old head, at the streams' next versions.
            let last = try #require(events.last)
            let appended = try store.append([AppendRequest(stream: last.stream, expectedVersion: .exact(last.version), events: [NewEvent(id: UUID(), type: "After", data: Array("{}".utf8))])])
            #expect(try appended[0].get().map(\.position) == [701])
            try store.close()
            #expect(try StoreVerifier.verify(directory: path).isSound)
        }
    }

    @Test func emptyOldStoreBecomesAnEmptyLog() throws {
        try withTemporaryDirectory("prism-migration") { (path: String) in
            try LegacyStoreFixture.create(in: path, events: [])
            let report = try LogMigration.migrate(directory: path, options: Self.options)
            #expect(report.log.count == 0 && report.source == report.log)
            let store = try EventStore(directory: path, options: Self.options)
            defer { try? store.close() }
            #expect(store.headPosition == 0)
        }
    }

    @Test func refusesWhileAWriteNodeHoldsTheDirectory() throws {
        try withTemporaryDirectory("prism-migration") { (path: String) in
            try LegacyStoreFixture.create(in: path, events: LegacyStoreFixture.sampleEvents(count: 10, streams: 2))
            let descriptor = open(path + "/write-node.lock", O_RDWR | O_CREAT, 0o644)
            #expect(descriptor >= 0)
            defer { close(descriptor) }
            #expect(flock(descriptor, LOCK_EX | LOCK_NB) == 0)
            #expect {
                try LogMigration.migrate(directory: path, options: Self.options)
            } throws: { ($0 as? EventStoreError)?.code == .locked }
            #expect(FileManager.default.fileExists(atPath: path + "/events.sqlite"))
        }
    }

    @Test func refusesADirectoryThatAlreadyHoldsLogFiles() throws {
        try withTemporaryDirectory("prism-migration") { (path: String) in
            try LegacyStoreFixture.create(in: path, events: LegacyStoreFixture.sampleEvents(count: 10, streams: 2))
            FileManager.default.createFile(atPath: path + "/00000000000000000001.segment", contents: Data([1, 2, 3]))
            #expect {
                try LogMigration.migrate(directory: path, options: Self.options)
            } throws: { error in
                let error = error as? EventStoreError
                return error?.code == .invalidArgument && error?.message.contains("refusing to overwrite") == true
            }
            #expect(FileManager.default.fileExists(atPath: path + "/events.sqlite"))
        }
    }

    @Test func refusesAnOldStoreWithAGapAndLeavesItAsItWas() throws {
        try withTemporaryDirectory("prism-migration") { (path: String) in
            var events = LegacyStoreFixture.sampleEvents(count: 20, streams: 1)
            let removed = events.remove(at: 9)  // position 10 missing; versions stay consecutive
            for index in events.indices where index >= 9 && events[index].stream == removed.stream { events[index].version -= 1 }
            try LegacyStoreFixture.create(in: path, events: events)
            #expect {
                try LogMigration.migrate(directory: path, options: Self.options)
            } throws: { error in
                let error = error as? EventStoreError
                return error?.code == .damaged && error?.message.contains("position 11 follows 9") == true
            }
            #expect(FileManager.default.fileExists(atPath: path + "/events.sqlite"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: path).allSatisfy { !$0.hasSuffix(".segment") })
        }
    }

    @Test func aConversionInterruptedBeforeItsProofStartsOver() throws {
        try withTemporaryDirectory("prism-migration") { (path: String) in
            let events = LegacyStoreFixture.sampleEvents(count: 300, streams: 5)
            try LegacyStoreFixture.create(in: path, events: events)
            // What a killed conversion leaves: a half-written staging log.
            let staging = path + "/" + LogMigration.stagingName
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: staging + "/00000000000000000001.segment", contents: Data(repeating: 7, count: 100))

            let report = try LogMigration.migrate(directory: path, options: Self.options)
            #expect(report.log.count == 300 && report.source == report.log && !report.resumed)
            let store = try EventStore(directory: path, options: Self.options)
            defer { try? store.close() }
            #expect(try store.read(after: 0, limit: 1000) == events)
        }
    }

    @Test func aSwapInterruptedAfterTheProofIsFinished() throws {
        try withTemporaryDirectory("prism-migration") { (path: String) in
            let events = LegacyStoreFixture.sampleEvents(count: 400, streams: 6)
            // The proven log, made by migrating a twin directory.
            let twin = path + "/twin", data = path + "/data"
            try LegacyStoreFixture.create(in: twin, events: events)
            try LegacyStoreFixture.create(in: data, events: events)
            _ = try LogMigration.migrate(directory: twin, options: Self.options)

            // Killed during the swap: proven and marked, the first segment already moved.
            let staging = data + "/" + LogMigration.stagingName
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
            let logFiles = try FileManager.default.contentsOfDirectory(atPath: twin)
                .filter { $0.hasSuffix(".segment") || $0.hasPrefix("index.sqlite") }.sorted()
            #expect(logFiles.count > 2)
            for (offset, name) in logFiles.enumerated() {
                try FileManager.default.copyItem(atPath: twin + "/" + name, toPath: (offset == 0 ? data : staging) + "/" + name)
            }
            FileManager.default.createFile(atPath: staging + "/verified", contents: Data("proven\n".utf8))

            let report = try LogMigration.migrate(directory: data, options: Self.options)
            #expect(report.resumed)
            #expect(report.source == report.log && report.log.count == 400)
            #expect(!FileManager.default.fileExists(atPath: staging))
            let store = try EventStore(directory: data, options: Self.options)
            defer { try? store.close() }
            #expect(try store.read(after: 0, limit: 1000) == events)
        }
    }

    @Test func aMigratedDirectoryIsNotMigratedTwice() throws {
        try withTemporaryDirectory("prism-migration") { (path: String) in
            try LegacyStoreFixture.create(in: path, events: LegacyStoreFixture.sampleEvents(count: 10, streams: 2))
            _ = try LogMigration.migrate(directory: path, options: Self.options)
            #expect {
                try LogMigration.migrate(directory: path, options: Self.options)
            } throws: { ($0 as? EventStoreError)?.message.contains("already migrated") == true }
        }
    }

    @Test func digestTellsApartEventsThatDifferInAnyField() {
        let events = LegacyStoreFixture.sampleEvents(count: 3, streams: 1)
        func digest(_ events: [RecordedEvent]) -> EventDigest {
            var digest = EventDigest()
            events.forEach { digest.add($0) }
            return digest
        }
        let original = digest(events)
        #expect(original == digest(events))
        var changed = events
        changed[1].metadata = []  // empty, where there was none
        #expect(original != digest(changed))
        changed = events
        changed[2].recordedAt += 1
        #expect(original != digest(changed))
        changed = events
        changed[0].stream = "user-s0x"
        #expect(original != digest(changed))
        #expect(digest([events[0], events[2]]).firstHole?.found == 3)
    }
}

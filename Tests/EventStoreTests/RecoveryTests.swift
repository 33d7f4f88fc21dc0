@testable import EventStore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The recovery rules of `LogLoader` (`docs/STORAGE.md`), each made to happen deterministically
/// with `FaultInjectingFileSystem` or by editing a closed store's files: a torn last group is cut,
/// garbage after the last valid group is cut, and anything a crash cannot leave is refused.
@Suite struct RecoveryTests {
    /// Appends `groups` groups of three small events to `order-1`...; returns them.
    static func appendAcknowledged(_ store: EventStore, groups: Int) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for group in 0..<groups {
            events += try store.append("order-\(group % 4)", .any, [event(), event(bytes: 100), event("Other")])
        }
        return events
    }

    /// A group of ten 1,000-byte events: about 10 KiB, so it spans three or four pages.
    static let bigRequest = AppendRequest(stream: "big-1", expectedVersion: .any, events: (0..<10).map { _ in event(bytes: 1000) })

    /// Opens the store in `path` (the real file system), checks it holds exactly `acknowledged`
    /// (plus, when `mayHold` is given, possibly all of those and nothing of them otherwise), that
    /// the next append continues the head, and that it verifies.
    static func expectRecovered(
        _ path: String, acknowledged: [RecordedEvent], mayHold unacknowledged: [NewEvent] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> EventStore {
        let store = try EventStore(directory: path, options: .small())
        let all = try store.readAll()
        #expect(Array(all.prefix(acknowledged.count)) == acknowledged, sourceLocation: sourceLocation)
        let extra = all.dropFirst(acknowledged.count)
        #expect(extra.isEmpty || extra.map(\.id) == unacknowledged.map(\.id), "recovery kept \(extra.count) events of an unacknowledged group", sourceLocation: sourceLocation)
        #expect(all.map(\.position) == Array(stride(from: 1, through: Int64(all.count), by: 1)), sourceLocation: sourceLocation)
        #expect(store.headPosition == Int64(all.count), sourceLocation: sourceLocation)
        let next = try store.append("after-1", .noStream, [event()])
        #expect(next.map(\.position) == [Int64(all.count) + 1], sourceLocation: sourceLocation)
        try expectSound(path, sourceLocation: sourceLocation)
        return store
    }

    enum Tear: String, CaseIterable {
        /// The page with the group header reached the disk, the rest did not.
        case firstPageOnly
        /// Every page but the one with the group header.
        case allButFirstPage
        /// Every page but the second: header and end intact, a hole in the middle.
        case allButSecondPage
    }

    @Test(arguments: Tear.allCases)
    func aTornLastGroupIsCut(tear: Tear) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let fileSystem = FaultInjectingFileSystem()
            let store = try EventStore(directory: path, options: .small(fileSystem: fileSystem))
            let acknowledged = try Self.appendAcknowledged(store, groups: 5)
            let groupStart = store.writer.end
            // The process dies while the group's `fdatasync` runs: modelled as a sync that fails,
            // then a crash before anything else happens.
            fileSystem.failNextSync()
            #expect(throws: EventStoreError.self) { try store.append([Self.bigRequest]) }
            try store.close()
            #expect(fileSystem.unsyncedBytes > 8192)
            let firstPage = groupStart / FaultInjectingFileSystem.pageBytes
            try fileSystem.crash { _, page in
                switch tear {
                case .firstPageOnly: page == firstPage
                case .allButFirstPage: page != firstPage
                case .allButSecondPage: page != firstPage + 1
                }
            }

            let recovered = try Self.expectRecovered(path, acknowledged: acknowledged)
            defer { try? recovered.close() }
            let cut = try #require(recovered.cutTail)
            #expect(cut.location == LogLocation(segment: 1, offset: groupStart))
            #expect(cut.bytes > 0)
            #expect(try recovered.readStream("big-1").isEmpty)
        }
    }

    /// Twenty-four seeded power cuts during a group's sync: whatever mix of its pages reached the
    /// disk, recovery keeps every acknowledged group and the unacknowledged one whole or not at all.
    @Test func seededCrashesDuringASyncNeverLoseOrInventEvents() throws {
        var outcomes: [FaultInjectingFileSystem.CrashOutcome: Int] = [:]
        for seed in UInt64(1)...24 {
            try withTemporaryDirectory { directory in
                let path = directory.appending("data")
                let fileSystem = FaultInjectingFileSystem()
                let store = try EventStore(directory: path, options: .small(fileSystem: fileSystem))
                let acknowledged = try Self.appendAcknowledged(store, groups: Int(seed % 7) + 1)
                fileSystem.failNextSync()
                #expect(throws: EventStoreError.self) { try store.append([Self.bigRequest]) }
                try store.close()
                let outcome = try fileSystem.crash(seed: seed)
                for value in outcome.values { outcomes[value, default: 0] += 1 }
                let recovered = try Self.expectRecovered(path, acknowledged: acknowledged, mayHold: Self.bigRequest.events)
                let kept = try recovered.readStream("big-1").count
                if outcome.values.contains(.dropped) { #expect(kept == 0, "seed \(seed)") }
                if outcome.values.contains(.kept) { #expect(kept == 10, "seed \(seed)") }
                try recovered.close()
            }
        }
        // The seeds cover every kind of crash.
        #expect(outcomes.keys.count == 3, "\(outcomes)")
    }

    @Test(arguments: [0, 13, 1000])
    func garbageAfterTheLastGroupIsCut(gap: Int) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small())
            let acknowledged = try Self.appendAcknowledged(store, groups: 4)
            try store.close()
            let end = try #require(try LogReader(directory: path).segments.last).validBytes
            var random = SeededGenerator(seed: UInt64(gap))
            let garbage = (0..<300).map { _ in UInt8.random(in: 1...255, using: &random) }
            try writeBytes(segmentPath(path, 1), garbage, at: end + gap)

            let recovered = try Self.expectRecovered(path, acknowledged: acknowledged)
            defer { try? recovered.close() }
            let cut = try #require(recovered.cutTail)
            #expect(cut.location == LogLocation(segment: 1, offset: end))
            #expect(cut.bytes == gap + 300)
        }
    }

    /// Garbage from inside the last group's zero padding on: the padding lies outside every
    /// checksum, so that group is whole and kept (it may have been acknowledged); what follows it is cut.
    @Test func garbageFromInsideTheLastGroupsPaddingKeepsThatGroup() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small())
            var acknowledged = try Self.appendAcknowledged(store, groups: 3)
            acknowledged += try store.append("padded-1", .any, [event(bytes: 1)])
            try store.close()
            let last = try #require(try logGroups(in: path).last)
            let recordsEnd = last.recordOffsets[0] + LogFormat.recordLength(last.events[0])
            try #require(last.end - recordsEnd >= 2, "the last group ends in padding")
            var random = SeededGenerator(seed: 3)
            let garbage = (0..<300).map { _ in UInt8.random(in: 1...255, using: &random) }
            try writeBytes(segmentPath(path, 1), garbage, at: recordsEnd + 1)

            let recovered = try Self.expectRecovered(path, acknowledged: acknowledged)
            defer { try? recovered.close() }
            let cut = try #require(recovered.cutTail)
            #expect(cut.location == LogLocation(segment: 1, offset: last.end))
            #expect(cut.bytes == recordsEnd + 1 + 300 - last.end)
        }
    }

    /// Where to flip a byte in the third of six groups: its magic, its header checksum, a record.
    @Test(arguments: [0, 29, 100])
    func aBitFlipInAnAcknowledgedGroupFollowedByValidOnesIsRefused(offsetInGroup: Int) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small())
            _ = try Self.appendAcknowledged(store, groups: 6)
            try store.close()
            let groups = try logGroups(in: path)
            let damaged = groups[2].location
            let segment = segmentPath(path, 1)
            try flipByte(segment, at: damaged.offset + offsetInGroup)
            let before = fileContents(segment)

            let error = #expect(throws: EventStoreError.self) { try EventStore(directory: path, options: .small()) }
            #expect(error?.code == .damaged)
            #expect(error?.message.hasPrefix("\(segment) offset \(damaged.offset): ") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("a valid group (position \(groups[3].firstPosition)) follows at offset \(groups[3].location.offset)") == true)
            // Refused, never repaired: the file is as it was, and the lock was released.
            #expect(fileContents(segment) == before)
            #expect(try StoreVerifier.verify(directory: path).problems.first?.contains("\(segment) offset \(damaged.offset)") == true)
            try flipByte(segment, at: damaged.offset + offsetInGroup)
            try EventStore(directory: path, options: .small()).close()
        }
    }

    @Test func anInvalidGroupInASealedSegmentIsRefused() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small(segmentBytes: 4096))
            _ = try Self.appendAcknowledged(store, groups: 40)
            try store.close()
            let groups = try logGroups(in: path)
            let lastOfFirst = try #require(groups.last { $0.location.segment == 1 })
            #expect(groups.last!.location.segment > 1)
            // The last group of a sealed segment: nothing valid follows it there, yet it is not a torn tail.
            try flipByte(segmentPath(path, 1), at: lastOfFirst.recordOffsets[0] + 70)

            let error = #expect(throws: EventStoreError.self) { try EventStore(directory: path, options: .small(segmentBytes: 4096)) }
            #expect(error?.code == .damaged)
            #expect(error?.message.hasPrefix("\(segmentPath(path, 1)) offset \(lastOfFirst.location.offset): ") == true)
            #expect(error?.message.contains("in a sealed segment") == true)
        }
    }

    @Test func anUnknownFormatVersionIsRefused() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small())
            try store.append("order-1", .noStream, [event()])
            try store.close()
            let segment = segmentPath(path, 1)
            let original = try readBytes(segment, at: 8, count: 4)
            try writeBytes(segment, [2, 0, 0, 0], at: 8)

            let error = #expect(throws: EventStoreError.self) { try EventStore(directory: path, options: .small()) }
            #expect(error == EventStoreError(.damaged, "\(segment) has log format version 2; this build reads only version 1"))
            #expect(throws: EventStoreError.self) { try LogReader(directory: path) }
            try writeBytes(segment, original, at: 8)
            let reopened = try EventStore(directory: path, options: .small())
            #expect(reopened.headPosition == 1)
            try reopened.close()
        }
    }

    @Test func aMissingSegmentIsAHole() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small(segmentBytes: 4096))
            _ = try Self.appendAcknowledged(store, groups: 60)
            try store.close()
            let segments = try LogReader(directory: path).segments
            #expect(segments.count >= 3)
            try FileManager.default.removeItem(atPath: segments[1].path)
            let error = #expect(throws: EventStoreError.self) { try EventStore(directory: path, options: .small(segmentBytes: 4096)) }
            #expect(error?.code == .damaged)
            #expect(error?.message.contains("\(segments[2].path) starts at position \(segments[2].firstPosition)") == true)
            #expect(error?.message.contains("the log has a hole") == true)
        }
    }
}

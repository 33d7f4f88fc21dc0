@testable import EventStore
import Foundation
import GRDB
import Testing

/// `StoreVerifier` (`prism store verify`) on a sound store, and on each kind of damage it must catch.
@Suite struct StoreVerifierTests {
    /// A closed store of 40 events in 8 groups over streams order-0...order-3.
    static func withClosedStore(_ body: (String, [RecordedEvent]) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small())
            var written: [RecordedEvent] = []
            for group in 0..<8 {
                written += try store.append((0..<5).map { n in
                    AppendRequest(stream: "order-\((group + n) % 4)", expectedVersion: .any, events: [event(bytes: 40)])
                }).flatMap { try $0.get() }
            }
            try store.close()
            try body(path, written)
        }
    }

    static func execute(_ sql: String, inIndexOf path: String) throws {
        let database = try DatabaseQueue(path: path + "/" + LogIndex.fileName)
        defer { try? database.close() }
        try database.write { try $0.execute(sql: sql) }
    }

    @Test func aSoundStoreVerifies() throws {
        try Self.withClosedStore { path, _ in
            let report = try StoreVerifier.verify(directory: path)
            #expect(report.isSound, "\(report.problems)")
            #expect(report.segments == 1)
            #expect(report.events == 40 && report.head == 40 && report.indexedPosition == 40)
            #expect(report.streams == 4)
            #expect(report.tornTail == nil)
        }
    }

    @Test func aMissingIndexEntryIsCaught() throws {
        try Self.withClosedStore { path, _ in
            try Self.execute("DELETE FROM events WHERE position = 17", inIndexOf: path)
            let report = try StoreVerifier.verify(directory: path)
            #expect(report.problems == ["index: no entry for position 17"])
        }
    }

    @Test func aWrongVersionInTheIndexIsCaught() throws {
        try Self.withClosedStore { path, written in
            try Self.execute("UPDATE events SET version = 99 WHERE position = 23", inIndexOf: path)
            let report = try StoreVerifier.verify(directory: path)
            let original = written[22]
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.hasPrefix("index: position 23 is \(original.stream)@99 at ") == true, "\(report.problems)")
            #expect(report.problems.first?.hasSuffix("but the log has \(original.stream)@\(original.version) (position 23) there") == true)
        }
    }

    /// An entry pointing into the middle of a record: whatever its bytes say, it is reported, and
    /// a length read from them never makes the reader allocate gigabytes.
    @Test(arguments: [4, 8, 20, -4])
    func anIndexEntryPointingAtTheWrongOffsetIsCaught(shift: Int) throws {
        try Self.withClosedStore { path, _ in
            try Self.execute("UPDATE events SET offset = offset + \(shift) WHERE position = 23", inIndexOf: path)
            let report = try StoreVerifier.verify(directory: path)
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.hasPrefix("index: position 23 points at ") == true, "\(report.problems)")
        }
    }

    @Test func aFlippedByteInTheLogIsCaught() throws {
        try Self.withClosedStore { path, _ in
            let groups = try logGroups(in: path)
            let damaged = groups[3]
            try flipByte(segmentPath(path, 1), at: damaged.recordOffsets[2] + 65)
            let report = try StoreVerifier.verify(directory: path)
            #expect(!report.isSound)
            #expect(report.problems.first?.hasPrefix("\(segmentPath(path, 1)) offset \(damaged.location.offset): group checksum mismatch") == true, "\(report.problems)")
        }
    }

    /// A flip in the last group cannot be told from a torn write: the verifier reports a torn
    /// tail (which the next open cuts), not damage.
    @Test func aFlippedByteInTheLastGroupReadsAsATornTail() throws {
        try Self.withClosedStore { path, _ in
            let last = try #require(try logGroups(in: path).last)
            try flipByte(segmentPath(path, 1), at: last.recordOffsets[0] + 61)
            let report = try StoreVerifier.verify(directory: path)
            #expect(report.tornTail?.contains("at \(LogLocation(segment: 1, offset: last.location.offset))") == true, "\(report.tornTail ?? "nil")")
            #expect(report.head == last.firstPosition - 1)
            // The index still names the events of that group: they are beyond the log's head.
            #expect(report.problems.first == "index: reaches position 40, beyond the log's head \(last.firstPosition - 1)")
        }
    }

    @Test func aMissingIndexIsReported() throws {
        try Self.withClosedStore { path, _ in
            IndexTests.removeIndex(in: path)
            let report = try StoreVerifier.verify(directory: path)
            #expect(report.head == 40)
            #expect(report.problems.count == 1)
            #expect(report.problems.first?.hasPrefix("index: no index at \(path)/\(LogIndex.fileName)") == true, "\(report.problems)")
        }
    }

    @Test func aVersionGapInTheLogIsCaught() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let store = try EventStore(directory: path, options: .small())
            try store.append("order-1", .noStream, [event()])
            // The migration path writes recorded events as they are; the verifier still checks them.
            let recorded = RecordedEvent(id: UUID(), position: 2, stream: "order-2", version: 0, type: "T", data: [], metadata: nil, recordedAt: 1)
            try store.appendRecorded([recorded])
            #expect(throws: EventStoreError.self) {
                try store.appendRecorded([RecordedEvent(id: UUID(), position: 3, stream: "order-1", version: 5, type: "T", data: [], metadata: nil, recordedAt: 1)])
            }
            try store.close()
            try expectSound(path)
        }
    }
}

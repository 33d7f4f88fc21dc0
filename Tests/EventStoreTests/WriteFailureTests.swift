@testable import EventStore
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Failures on the write path (`docs/STORAGE.md`, "Failure policy"): the append throws and
/// nothing of it is visible, `failure` says why, reads keep working, and the next `stage`
/// validates the log's tail again before appends resume. A failed `fdatasync` is never retried on
/// the same data.
@Suite struct WriteFailureTests {
    /// A store on a fault-injecting file system with two acknowledged groups (positions 1...3).
    static func withFaultyStore(
        segmentBytes: Int = 64 << 10, _ body: (EventStore, FaultInjectingFileSystem, String, [RecordedEvent]) throws -> Void
    ) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let fileSystem = FaultInjectingFileSystem()
            let store = try EventStore(directory: path, options: .small(segmentBytes: segmentBytes, fileSystem: fileSystem))
            defer { try? store.close() }
            var acknowledged = try store.append("a-1", .noStream, [event()])
            acknowledged += try store.append("b-1", .noStream, [event(), event()])
            try body(store, fileSystem, path, acknowledged)
        }
    }

    /// The failed batch: it extends `a-1` and starts `c-1`.
    static let failedBatch = [
        AppendRequest(stream: "a-1", expectedVersion: .exact(0), events: [event(), event()]),
        AppendRequest(stream: "c-1", expectedVersion: .noStream, events: [event(bytes: 500)]),
    ]

    /// Whether the data of a failed `fdatasync` is still in the file when the log is reopened
    /// (Linux keeps it in the page cache, marked clean) or was lost.
    @Test(arguments: [false, true])
    func aFailedSyncStopsAppendsUntilTheTailIsValidatedAgain(losingTheGroup: Bool) throws {
        try Self.withFaultyStore { store, fileSystem, path, acknowledged in
            fileSystem.failNextSync(losingUnsyncedWrites: losingTheGroup)
            let error = #expect(throws: EventStoreError.self) { try store.append(Self.failedBatch) }
            #expect(error?.code == .io)
            #expect(error?.message == "fdatasync(\(segmentPath(path, 1))) failed: Input/output error")
            #expect(store.failure == error)
            // Nothing of it is visible, and the provisional heads were dropped.
            #expect(store.headPosition == 3)
            #expect(try store.readAll() == acknowledged)
            #expect(try store.streamVersion("a-1") == 0)
            #expect(try store.streamVersion("c-1") == nil)

            // The next stage reopens the log and cuts everything past the durable head, even a
            // group that reads back whole: after a failed fdatasync the kernel's pages may be
            // clean but never written, so reading them proves nothing.
            let reopen = try store.stage([])
            store.abandon(reopen)
            #expect(store.failure == nil)
            #expect(store.headPosition == 3, "the failed group is not made visible by the reopen")
            #expect(try store.readAll() == acknowledged)
            let retry = try store.append(Self.failedBatch).map { try $0.get() }
            #expect(store.failure == nil)
            #expect(retry.flatMap { $0 }.map(\.position) == [4, 5, 6])
            #expect(retry.flatMap { $0 }.map(\.id) == Self.failedBatch.flatMap(\.events).map(\.id))
            let next = try store.append("a-1", .exact(2), [event()])
            #expect(next.map(\.position) == [7])
            let all = try store.readAll()
            #expect(all.map(\.position) == Array(1...7))
            #expect(Set(all.map(\.id)).count == 7, "the retry wrote nothing twice")
            #expect(try store.lastPositionByCategory() == ["a": 7, "b": 3, "c": 6])
            try store.close()
            try expectSound(path)
            let reopened = try EventStore(directory: path, options: .small())
            #expect(try reopened.readAll() == all)
            try reopened.close()
        }
    }

    @Test func enospcOnAWriteWritesNothing() throws {
        try Self.withFaultyStore { store, fileSystem, path, acknowledged in
            fileSystem.failNextWrite(errno: ENOSPC)
            let error = #expect(throws: EventStoreError.self) { try store.append(Self.failedBatch) }
            #expect(error?.message == "pwrite(\(segmentPath(path, 1))) failed: No space left on device")
            #expect(store.failure?.code == .io)
            #expect(try store.readAll() == acknowledged)
            #expect(try store.readStream("b-1").count == 2)

            let resumed = try store.append([AppendRequest(stream: "a-1", expectedVersion: .exact(0), events: [event()])])
            #expect(try resumed[0].get().map(\.position) == [4])
            #expect(store.failure == nil)
            #expect(try store.streamVersion("c-1") == nil)
            try expectSound(path)
        }
    }

    /// A write that stopped part-way leaves a torn group behind; reopening cuts it, and a shorter
    /// group written over it leaves none of its remains.
    @Test(arguments: [1, 31, 200, 700])
    func aShortWriteIsCutBeforeAppendsResume(bytesWritten: Int) throws {
        try Self.withFaultyStore { store, fileSystem, path, acknowledged in
            fileSystem.failNextWrite(errno: ENOSPC, afterWriting: bytesWritten)
            #expect(throws: EventStoreError.self) { try store.append(Self.failedBatch) }
            #expect(try store.readAll() == acknowledged)

            let resumed = try store.append("d-1", .noStream, [event()])
            #expect(resumed.map(\.position) == [4])
            try store.close()
            let report = try expectSound(path)
            #expect(report.tornTail == nil)
            #expect(report.head == 4)
        }
    }

    @Test func enospcCreatingASegmentFailsTheAppendUntilSpaceReturns() throws {
        try Self.withFaultyStore(segmentBytes: 4096) { store, fileSystem, path, _ in
            fileSystem.failSegmentCreation(errno: ENOSPC)
            var error: EventStoreError?
            for _ in 0..<200 {
                do {
                    try store.append("a-1", .any, [event(bytes: 100)])
                } catch let failure as EventStoreError {
                    error = failure
                    break
                }
            }
            let failure = try #require(error, "the first segment never filled")
            #expect(failure.code == .io)
            #expect(failure.message.contains("No space left on device"))
            #expect(failure.message.contains(LogSegment.preparingSuffix))
            let head = store.headPosition
            #expect(store.failure == failure)
            // Reads and catch-up keep working; appends keep failing while the disk is full.
            #expect(try store.readAll().map(\.position) == Array(1...head))
            #expect(throws: EventStoreError.self) { try store.append("a-1", .any, [event(bytes: 100)]) }
            #expect(store.headPosition == head)

            fileSystem.clearFaults()
            var more: [RecordedEvent] = []
            for _ in 0..<60 { more += try store.append("a-1", .any, [event(bytes: 100)]) }
            #expect(more.map(\.position) == Array((head + 1)...(head + 60)))
            #expect(store.failure == nil)
            #expect(try LogReader(directory: path).segments.count > 1)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(LogSegment.preparingSuffix) }
            #expect(leftovers.count <= 1, "at most the next segment, prepared ahead")
            try store.close()
            try expectSound(path)
        }
    }
}

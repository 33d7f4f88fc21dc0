@testable import EventStore
import Foundation
import Testing

@Suite struct AppendTests {
    @Test func roundTrip() throws {
        try withStore { store, _ in
            let first = NewEvent(type: "OrderCreated", data: Array(#"{"amount":4999}"#.utf8), metadata: Array(#"{"by":"u1"}"#.utf8))
            let second = NewEvent(type: "Empty", data: [], metadata: [])
            let results = try store.append([AppendRequest(stream: "order-o-1", expectedVersion: .noStream, events: [first, second])])
            let recorded = try #require(try results.first?.get())
            #expect(recorded.map(\.position) == [1, 2])
            #expect(recorded.map(\.version) == [0, 1])
            #expect(recorded[0].recordedAt == recorded[1].recordedAt)
            #expect(recorded[0].recordedAt > 1_600_000_000_000_000_000)

            let read = try store.readStream("order-o-1")
            #expect(read == recorded)
            #expect(read[0].id == first.id && read[0].data == first.data && read[0].metadata == first.metadata)
            #expect(read[1].data == [] && read[1].metadata == [])
            #expect(read[0].category == "order")
            #expect(store.headPosition == 2)
            #expect(try store.streamVersion("order-o-1") == 1)
            #expect(try store.streamVersion("order-none") == nil)
        }
    }

    @Test func positionsAreGapFreeAcrossManyAppends() throws {
        try withStore { store, _ in
            var total = 0
            for batch in 0..<40 {
                let requests = (0..<(batch % 5 + 1)).map { index in
                    AppendRequest(stream: "item-\(index)", expectedVersion: .any, events: (0...(index % 3)).map { _ in event() })
                }
                total += requests.reduce(0) { $0 + $1.events.count }
                _ = try store.append(requests)
            }
            let all = try store.read(after: 0, limit: 100_000)
            #expect(all.map(\.position) == Array(1...Int64(total)))
            #expect(store.headPosition == Int64(total))
            for stream in Set(all.map(\.stream)) {
                let versions = all.filter { $0.stream == stream }.map(\.version)
                #expect(versions == Array(0..<Int64(versions.count)))
            }
        }
    }

    @Test func expectedVersionsThatMatch() throws {
        try withStore { store, _ in
            let results = try store.append([
                AppendRequest(stream: "order-1", expectedVersion: .noStream, events: [event()]),
                AppendRequest(stream: "order-1", expectedVersion: .exact(0), events: [event(), event()]),
                AppendRequest(stream: "order-1", expectedVersion: .any, events: [event()]),
                AppendRequest(stream: "order-2", expectedVersion: .any, events: [event()]),
            ])
            #expect(try results.map { try $0.get().map(\.version) } == [[0], [1, 2], [3], [0]])
            #expect(try store.streamVersion("order-1") == 3)
        }
    }

    @Test(arguments: [
        (ExpectedVersion.exact(0), "Wrong expected version: 0 (stream: order-17, stream version: 2)"),
        (ExpectedVersion.exact(5), "Wrong expected version: 5 (stream: order-17, stream version: 2)"),
        (ExpectedVersion.noStream, "Wrong expected version: noStream (stream: order-17, stream version: 2)"),
    ])
    func expectedVersionMismatchWritesNothing(expected: ExpectedVersion, message: String) throws {
        try withStore { store, _ in
            _ = try store.append([AppendRequest(stream: "order-17", expectedVersion: .noStream, events: [event(), event(), event()])])
            let results = try store.append([AppendRequest(stream: "order-17", expectedVersion: expected, events: [event()])])
            #expect(results[0].failure == EventStoreError(.wrongExpectedVersion, message))
            #expect(store.headPosition == 3)
            #expect(try store.streamVersion("order-17") == 2)
        }
    }

    @Test func exactVersionOnAnEmptyStreamFails() throws {
        try withStore { store, _ in
            let results = try store.append([AppendRequest(stream: "order-9", expectedVersion: .exact(0), events: [event()])])
            #expect(results[0].failure == EventStoreError(.wrongExpectedVersion, "Wrong expected version: 0 (stream: order-9, stream version: none)"))
            #expect(store.headPosition == 0)
            #expect(try store.read(after: 0, limit: 10).isEmpty)
        }
    }

    @Test func aFailingRequestInTheMiddleLeavesTheOthers() throws {
        try withStore { store, _ in
            let results = try store.append([
                AppendRequest(stream: "order-1", expectedVersion: .noStream, events: [event()]),
                AppendRequest(stream: "order-2", expectedVersion: .exact(3), events: [event()]),
                // Sees the first request's event: the stream is at version 0 now.
                AppendRequest(stream: "order-1", expectedVersion: .exact(0), events: [event()]),
            ])
            #expect(try results[0].get().map(\.position) == [1])
            #expect(results[1].failure?.code == .wrongExpectedVersion)
            #expect(try results[2].get().map(\.position) == [2])
            #expect(try store.read(after: 0, limit: 10).map(\.stream) == ["order-1", "order-1"])
        }
    }

    @Test func invalidRequestsAreRejected() throws {
        try withStore { store, _ in
            let results = try store.append([
                AppendRequest(stream: "order-1", expectedVersion: .any, events: []),
                AppendRequest(stream: "", expectedVersion: .any, events: [event()]),
                AppendRequest(stream: "-order", expectedVersion: .any, events: [event()]),
                AppendRequest(stream: "order 1", expectedVersion: .any, events: [event()]),
                AppendRequest(stream: "order-1", expectedVersion: .any, events: [event("")]),
                AppendRequest(stream: "order-1", expectedVersion: .any, events: [event(String(repeating: "T", count: 201))]),
                AppendRequest(stream: "order-1", expectedVersion: .any, events: [event(String(repeating: "T", count: 200))]),
            ])
            #expect(results.dropLast().allSatisfy { $0.failure?.code == .invalidArgument })
            #expect(results[4].failure?.message.contains("empty type") == true)
            #expect(try results[6].get().map(\.position) == [1])
        }
    }

    @Test func closedStoreRefusesAppends() throws {
        try withStore { store, _ in
            try store.close()
            #expect(throws: EventStoreError.self) { try store.append([AppendRequest(stream: "a-1", expectedVersion: .any, events: [event()])]) }
            try store.close()  // idempotent
        }
    }

    @Test func stageWriteConfirmMakesTheBatchVisibleOnlyWhenConfirmed() throws {
        try withStore { store, _ in
            try store.append("order-1", .noStream, [event()])
            let batch = try store.stage([AppendRequest(stream: "order-1", expectedVersion: .exact(0), events: [event(), event()])])
            #expect(batch.headBefore == 1)
            #expect(batch.events.map(\.position) == [2, 3])
            // Staged: the write node may fold it, readers may not see it.
            #expect(try store.readStream("order-1", includingStaged: true).map(\.version) == [0, 1, 2])
            #expect(try store.readStream("order-1").map(\.version) == [0])
            try store.write(batch)
            #expect(try store.read(after: 0, limit: 10).map(\.position) == [1])
            #expect(store.headPosition == 1)
            store.confirm(batch)
            #expect(try store.read(after: 0, limit: 10).map(\.position) == [1, 2, 3])
            #expect(store.headPosition == 3)
            #expect(try store.streamVersion("order-1") == 2)
        }
    }

    @Test func anAbandonedBatchLeavesNoTrace() throws {
        try withStore { store, directory in
            try store.append("order-1", .noStream, [event()])
            let abandoned = [event(), event()]
            let batch = try store.stage([
                AppendRequest(stream: "order-1", expectedVersion: .exact(0), events: abandoned),
                AppendRequest(stream: "order-2", expectedVersion: .noStream, events: [event()]),
            ])
            store.abandon(batch)
            // The same expected versions hold again, the positions are handed out again, and the
            // abandoned ids are not in the idempotency window.
            let results = try store.append([
                AppendRequest(stream: "order-1", expectedVersion: .exact(0), events: [event()]),
                AppendRequest(stream: "order-2", expectedVersion: .noStream, events: [event()]),
                AppendRequest(stream: "order-3", expectedVersion: .noStream, events: abandoned),
            ])
            #expect(try results.map { try $0.get().map(\.position) } == [[2], [3], [4, 5]])
            try expectSound(directory)
        }
    }

    @Test func manySegmentRollsKeepEveryEvent() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            var written: [RecordedEvent] = []
            let store = try EventStore(directory: path, options: .small(segmentBytes: 4096))
            for batch in 0..<120 {
                let requests = (0..<(batch % 3 + 1)).map { index in
                    AppendRequest(stream: "item-\(index)", expectedVersion: .any, events: [event(bytes: 50 + batch * 7 % 300)])
                }
                written += try store.append(requests).flatMap { try $0.get() }
            }
            // One group larger than a whole segment still fits: it gets a segment of its own.
            written += try store.append("big-1", .noStream, (0..<8).map { _ in event(bytes: 1000) })
            #expect(try store.readAll() == written)
            try store.close()
            let segments = try LogReader(directory: path).segments
            #expect(segments.count > 10)
            #expect(segments.map(\.firstPosition).first == 1)

            let reopened = try EventStore(directory: path, options: .small(segmentBytes: 4096))
            defer { try? reopened.close() }
            #expect(try reopened.readAll() == written)
            #expect(try reopened.readStream("item-2").map(\.version) == Array(0..<Int64(written.filter { $0.stream == "item-2" }.count)))
            let next = try reopened.append("item-0", .exact(try #require(try reopened.streamVersion("item-0"))), [event()])
            #expect(next.map(\.position) == [Int64(written.count) + 1])
            let report = try expectSound(path)
            #expect(report.head == Int64(written.count) + 1)
            #expect(report.segments == segments.count || report.segments == segments.count + 1)
        }
    }
}

import EventStore
import Foundation
import Testing

@Suite struct ReadTests {
    /// order-1: Created, Paid; user-1: Registered; order-2: Created; user-1: Moved; invoice-1: Sent.
    private func seed(_ store: EventStore) throws {
        _ = try store.append([
            AppendRequest(stream: "order-1", expectedVersion: .any, events: [event("Created"), event("Paid")]),
            AppendRequest(stream: "user-1", expectedVersion: .any, events: [event("Registered")]),
        ])
        _ = try store.append([
            AppendRequest(stream: "order-2", expectedVersion: .any, events: [event("Created")]),
            AppendRequest(stream: "user-1", expectedVersion: .any, events: [event("Moved")]),
            AppendRequest(stream: "invoice-1", expectedVersion: .any, events: [event("Sent")]),
        ])
    }

    @Test func readWithFiltersAndLimit() throws {
        try withStore { store, _ in
            try seed(store)
            #expect(try store.read(after: 0, limit: 100).map(\.position) == [1, 2, 3, 4, 5, 6])
            #expect(try store.read(after: 2, limit: 2).map(\.position) == [3, 4])
            #expect(try store.read(after: 6, limit: 10).isEmpty)
            let orders = EventFilter(categories: ["order"])
            #expect(try store.read(after: 0, limit: 100, filter: orders).map(\.position) == [1, 2, 4])
            #expect(try store.read(after: 1, limit: 1, filter: orders).map(\.position) == [2])
            let two = EventFilter(categories: ["user", "invoice", "user"])
            #expect(try store.read(after: 0, limit: 100, filter: two).map(\.position) == [3, 5, 6])
            #expect(try store.read(after: 0, limit: 2, filter: two).map(\.position) == [3, 5])
            let created = EventFilter(types: ["Created", "Moved"])
            #expect(try store.read(after: 0, limit: 100, filter: created).map(\.position) == [1, 4, 5])
            let both = EventFilter(categories: ["order", "user"], types: ["Created"])
            #expect(try store.read(after: 1, limit: 100, filter: both).map(\.position) == [4])
            #expect(try store.read(after: 0, limit: 100, filter: EventFilter(categories: ["nothing"])).isEmpty)
        }
    }

    @Test(arguments: [0, -1, 100_001])
    func limitsOutOfRangeAreRejected(limit: Int) throws {
        try withStore { store, _ in
            #expect(throws: EventStoreError(.invalidArgument, "limit \(limit) is outside 1...100000")) {
                try store.read(after: 0, limit: limit)
            }
            #expect(throws: EventStoreError.self) { try store.readStream("order-1", limit: limit) }
        }
    }

    @Test func readStreamFromVersionWithLimit() throws {
        try withStore { store, _ in
            _ = try store.append([AppendRequest(stream: "order-1", expectedVersion: .any, events: (0..<5).map { _ in event() })])
            _ = try store.append([AppendRequest(stream: "order-10", expectedVersion: .any, events: [event()])])
            #expect(try store.readStream("order-1").map(\.version) == [0, 1, 2, 3, 4])
            #expect(try store.readStream("order-1", fromVersion: 2, limit: 2).map(\.version) == [2, 3])
            #expect(try store.readStream("order-1", fromVersion: 9).isEmpty)
            #expect(try store.readStream("order-10").map(\.position) == [6])
            #expect(try store.readStream("order-404").isEmpty)
        }
    }

    @Test func lastPositionByCategory() throws {
        try withStore { store, _ in
            #expect(try store.lastPositionByCategory().isEmpty)
            try seed(store)
            #expect(try store.lastPositionByCategory() == ["order": 4, "user": 5, "invoice": 6])
        }
    }

    @Test func logReaderSeesWhatTheWriterMadeDurable() throws {
        try withStore { store, directory in
            #expect(try LogReader(directory: directory).headPosition == 0)
            try seed(store)
            let reader = try LogReader(directory: directory)
            #expect(reader.headPosition == 6)
            var seen: [RecordedEvent] = []
            try reader.forEach { seen.append($0); return true }
            #expect(try seen == store.read(after: 0, limit: 100))
            var fromFour: [Int64] = []
            try reader.forEach(from: 4) { fromFour.append($0.position); return fromFour.count < 2 }
            #expect(fromFour == [4, 5])
            #expect(reader.segments.map(\.firstPosition) == [1])
            try store.append("order-3", .any, [event()])
            // A reader sees the log as it was when it opened; a new one sees the new group.
            #expect(reader.headPosition == 6)
            #expect(try LogReader(directory: directory).headPosition == 7)
        }
    }

    @Test func logReaderOfAnEmptyDirectory() throws {
        try withTemporaryDirectory { directory in
            let reader = try LogReader(directory: directory.path)
            #expect(reader.headPosition == 0)
            #expect(reader.segments.isEmpty)
        }
    }

    @Test func logReaderWorksAfterTheWriterClosed() throws {
        try withTemporaryDirectory { directory in
            let store = try EventStore(directory: directory.path, options: .small())
            try seed(store)
            try store.close()
            let reader = try LogReader(directory: directory.path)
            #expect(reader.headPosition == 6)
            var positions: [Int64] = []
            try reader.forEach(from: 5) { positions.append($0.position); return true }
            #expect(positions == [5, 6])
        }
    }

    @Test func logReaderRefusesAFileThatIsNotASegment() throws {
        withTemporaryDirectory { directory in
            let file = segmentPath(directory.path, 1)
            _ = FileManager.default.createFile(atPath: file, contents: Data("not a segment".utf8))
            let error = #expect(throws: EventStoreError.self) { try LogReader(directory: directory.path) }
            #expect(error?.code == .damaged)
            #expect(error?.message == "\(file) is not a Prism log segment (no PRISMLOG header)")
            #expect(fileContents(file) == Data("not a segment".utf8))
        }
    }
}

import EventStore
import Foundation
import Testing

/// `readRecords` (the binary catch-up's read): the stored records of what `read` returns, in
/// order, cut by count or size, continuing inside cached groups without loss or repeats.
@Suite struct ReadRecordsTests {
    static let filters = [
        EventFilter.all, EventFilter(categories: ["order"]), EventFilter(categories: ["user", "invoice"], types: ["Created"]),
        EventFilter(types: ["Changed"]), EventFilter(categories: ["nothing"]),
    ]

    /// 1,000 events in groups of 200, all indexed (reopened), then 30 more in memory only.
    static func withSeededStore(_ body: (EventStore, [RecordedEvent]) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let first = try EventStore(directory: path, options: .small())
            var written = try IndexTests.seed(first, count: 1000, eventsPerGroup: 200)
            try first.close()
            let store = try EventStore(directory: path, options: .small())
            defer { try? store.close() }
            #expect(store.indexedPosition == 1000)
            written += try IndexTests.seed(store, count: 30)
            try body(store, written)
        }
    }

    @Test(arguments: [1, 7, 199, 5000])
    func continuingReadsReturnEveryMatchingEventOnce(limit: Int) throws {
        try Self.withSeededStore { store, written in
            for filter in Self.filters {
                var after: Int64 = 0
                var seen: [RecordedEvent] = []
                while true {
                    let records = try store.readRecords(after: after, limit: limit, filter: filter)
                    let events = try EventRecord.decodeAll(records.bytes, count: records.count)
                    #expect(events.count <= limit)
                    seen += events
                    guard records.isFull, let last = records.lastPosition else { break }
                    after = last
                }
                #expect(seen == written.filter(filter.matches), "\(filter)")
            }
        }
    }

    @Test func aReadStopsAfterTheRecordThatCrossesItsSize() throws {
        try Self.withSeededStore { store, written in
            let one = try store.readRecords(after: 10, limit: 100, maxBytes: 1)
            #expect(one.count == 1 && one.isFull && one.lastPosition == 11)
            #expect(try EventRecord.decodeAll(one.bytes, count: 1) == [written[10]])
            let all = try store.readRecords(after: 0, limit: 100_000)
            #expect(!all.isFull && all.count == written.count)
            #expect(all.bytes.count == written.map(EventRecord.length(of:)).reduce(0, +))
        }
    }
}

import EventStore
import Foundation
import Testing

/// The idempotency window (`docs/PROTOCOL.md`, "Idempotency"): recent event ids in memory,
/// refilled from the log's tail on open; outside it, KurrentDB's rule for an exact expected
/// version older than the stream.
@Suite struct IdWindowTests {
    static func options(window: Int) -> EventStore.Options {
        var options = EventStore.Options.small()
        options.idWindowEvents = window
        return options
    }

    /// Appends `count` single-event appends to other streams, pushing older ids out of a small window.
    static func fill(_ store: EventStore, _ count: Int) throws {
        for index in 0..<count { try store.append("filler-\(index % 3)", .any, [event()]) }
    }

    @Test func aRetryInsideTheWindowReturnsTheOriginalPositions() throws {
        try withStore(options: Self.options(window: 100)) { store, _ in
            let events = [event(), event()]
            let original = try store.append("order-1", .noStream, events)
            try Self.fill(store, 20)
            // Any expected version: within the window the ids alone decide.
            for expected in [ExpectedVersion.noStream, .any, .exact(7)] {
                #expect(try store.append("order-1", expected, events) == original)
            }
            #expect(store.headPosition == 22)
        }
    }

    @Test func aRetryAfterARestartReturnsTheOriginalPositions() throws {
        try withTemporaryDirectory { directory in
            let path = directory.appending("data")
            let events = [event(), event(), event()]
            var store = try EventStore(directory: path, options: Self.options(window: 50))
            try Self.fill(store, 30)
            let original = try store.append("order-1", .noStream, events)
            try Self.fill(store, 30)
            try store.close()

            store = try EventStore(directory: path, options: Self.options(window: 50))
            defer { try? store.close() }
            // Refilled from the log's tail, up to the window's size.
            #expect(store.cacheCounts.ids == 50)
            #expect(try store.append("order-1", .any, events) == original)
            #expect(store.headPosition == 63)
        }
    }

    /// Outside the window, a retry with the exact expected version it was first written at
    /// returns the originals when the events at those versions carry its ids, in order.
    @Test func aRetryOutsideTheWindowWithAnOlderExactVersionComparesTheIds() throws {
        try withStore(options: Self.options(window: 10)) { store, _ in
            try store.append("order-1", .noStream, [event()])
            let events = [event(), event()]
            let original = try store.append("order-1", .exact(0), events)
            try store.append("order-1", .exact(2), [event()])
            try Self.fill(store, 20)
            #expect(store.cacheCounts.ids == 10)

            let retry = try store.append([AppendRequest(stream: "order-1", expectedVersion: .exact(0), events: events)])
            #expect(try retry[0].get() == original)
            // The same versions with other ids, or the ids in another order: not a retry.
            let others = try store.append([
                AppendRequest(stream: "order-1", expectedVersion: .exact(0), events: [events[0], event()]),
                AppendRequest(stream: "order-1", expectedVersion: .exact(0), events: events.reversed()),
                AppendRequest(stream: "order-1", expectedVersion: .exact(1), events: events),
            ])
            for result in others {
                #expect(result.failure == EventStoreError(.wrongExpectedVersion, "Wrong expected version: \(result == others[2] ? 1 : 0) (stream: order-1, stream version: 3)"))
            }
            // noStream is "expected version -1": the first events of the stream.
            let first = try store.readStream("order-1", limit: 1)
            let noStream = try store.append([AppendRequest(stream: "order-1", expectedVersion: .noStream, events: first.map { NewEvent(id: $0.id, type: $0.type, data: $0.data) })])
            #expect(try noStream[0].get() == first)
            #expect(store.headPosition == 24)
        }
    }

    /// Documented: global id uniqueness holds within the window only. An id that left the window
    /// may be stored again, in another stream.
    @Test func aReusedIdOutsideTheWindowInAnotherStreamIsAccepted() throws {
        try withStore(options: Self.options(window: 10)) { store, directory in
            let reused = event()
            let original = try store.append("order-1", .noStream, [reused])
            // Inside the window: a conflict.
            let inside = try store.append([AppendRequest(stream: "order-2", expectedVersion: .any, events: [reused])])
            #expect(inside[0].failure?.code == .idempotencyConflict)
            try Self.fill(store, 20)
            let again = try store.append("order-2", .any, [reused])
            #expect(again.map(\.position) == [22])
            #expect(again[0].id == original[0].id)
            try expectSound(directory)
        }
    }

    @Test func anAgeLimitEvictsOldIds() throws {
        var options = Self.options(window: 1000)
        options.idWindowSeconds = 1
        try withStore(options: options) { store, _ in
            let events = [event()]
            let original = try store.append("order-1", .noStream, events)
            #expect(try store.append("order-1", .noStream, events) == original)
            // The age is the point here, so this waits for the clock, not for readiness.
            Thread.sleep(forTimeInterval: 1.1)
            // Eviction runs when an append is confirmed.
            try store.append("filler-1", .any, [event()])
            #expect(store.cacheCounts.ids == 1)
            // Outside the window now: noStream still names version 0, whose id matches.
            #expect(try store.append("order-1", .noStream, events) == original)
            let reused = try store.append([AppendRequest(stream: "order-2", expectedVersion: .any, events: events)])
            #expect(try reused[0].get().map(\.stream) == ["order-2"])
        }
    }
}

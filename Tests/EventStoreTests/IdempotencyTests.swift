import EventStore
import Foundation
import Testing

@Suite struct IdempotencyTests {
    @Test func retryReturnsTheOriginalEventsAndWritesNothing() throws {
        try withStore { store, _ in
            let events = [event(), event(), event()]
            _ = try store.append([AppendRequest(stream: "other-1", expectedVersion: .any, events: [event()])])
            let first = try store.append([AppendRequest(stream: "order-1", expectedVersion: .noStream, events: events)])[0].get()
            _ = try store.append([AppendRequest(stream: "order-1", expectedVersion: .any, events: [event()])])
            // The retry's expected version no longer matches; as in EventStoreDB it still succeeds.
            let retry = try store.append([AppendRequest(stream: "order-1", expectedVersion: .noStream, events: events)])[0].get()
            #expect(retry == first)
            #expect(retry.map(\.position) == [2, 3, 4])
            #expect(store.headPosition == 5)
        }
    }

    @Test func retryWithinTheSameBatch() throws {
        try withStore { store, _ in
            let request = AppendRequest(stream: "order-1", expectedVersion: .noStream, events: [event(), event()])
            let results = try store.append([request, request])
            #expect(try results[0].get() == results[1].get())
            #expect(store.headPosition == 2)
        }
    }

    @Test func partialDuplicateIsAConflict() throws {
        try withStore { store, _ in
            let stored = event()
            _ = try store.append([AppendRequest(stream: "order-1", expectedVersion: .any, events: [stored])])
            let results = try store.append([
                AppendRequest(stream: "order-1", expectedVersion: .any, events: [stored, event()]),
                AppendRequest(stream: "order-2", expectedVersion: .any, events: [stored]),
                AppendRequest(stream: "order-3", expectedVersion: .any, events: [event()]),
            ])
            let partial = try #require(results[0].failure)
            #expect(partial.code == .idempotencyConflict)
            #expect(partial.message == "append to stream order-1: 1 of its 2 event ids are already stored, the others are not (event \(stored.id) is stored in stream order-1 at version 0)")
            let elsewhere = try #require(results[1].failure)
            #expect(elsewhere.code == .idempotencyConflict)
            #expect(elsewhere.message.contains("stored in stream order-1"))
            #expect(try results[2].get().map(\.position) == [2])
            #expect(store.headPosition == 2)
        }
    }

    @Test func reorderedRetryIsAConflict() throws {
        try withStore { store, _ in
            let (a, b) = (event(), event())
            _ = try store.append([AppendRequest(stream: "order-1", expectedVersion: .any, events: [a, b])])
            let results = try store.append([AppendRequest(stream: "order-1", expectedVersion: .any, events: [b, a])])
            #expect(results[0].failure?.code == .idempotencyConflict)
        }
    }

    @Test(arguments: [true, false])
    func duplicateIdsInOneRequestAreAConflict(checkIdempotency: Bool) throws {
        try withStore { store, _ in
            let twice = event()
            let results = try store.append([
                AppendRequest(stream: "order-1", expectedVersion: .any, events: [twice, event(), twice], checkIdempotency: checkIdempotency),
                AppendRequest(stream: "order-2", expectedVersion: .any, events: [event()]),
            ])
            #expect(results[0].failure?.code == .idempotencyConflict)
            #expect(results[0].failure?.message.contains("appears more than once") == true)
            #expect(try results[1].get().map(\.position) == [1])
        }
    }

    /// A request that skips the check (a decider minting fresh ids) is not looked up in the id
    /// window at all: the caller vouches for its ids, so a reused one is stored again.
    @Test func uncheckedRequestsSkipTheIdWindow() throws {
        try withStore { store, directory in
            let stored = event()
            _ = try store.append([AppendRequest(stream: "order-1", expectedVersion: .any, events: [stored])])
            let results = try store.append([
                AppendRequest(stream: "order-2", expectedVersion: .any, events: [event()]),
                AppendRequest(stream: "order-3", expectedVersion: .any, events: [event(), stored], checkIdempotency: false),
                AppendRequest(stream: "order-3", expectedVersion: .exact(1), events: [event()]),
            ])
            #expect(try results.map { try $0.get().map(\.position) } == [[2], [3, 4], [5]])
            #expect(try store.read(after: 0, limit: 10).filter { $0.id == stored.id }.map(\.position) == [1, 4])
            try expectSound(directory)
        }
    }

    @Test func idsUsedByAnEarlierRequestOfTheBatch() throws {
        try withStore { store, _ in
            let shared = event()
            let results = try store.append([
                AppendRequest(stream: "order-1", expectedVersion: .any, events: [shared]),
                AppendRequest(stream: "order-2", expectedVersion: .any, events: [shared]),
                AppendRequest(stream: "order-1", expectedVersion: .any, events: [shared, event()]),
            ])
            #expect(try results[0].get().map(\.position) == [1])
            #expect(results[1].failure?.code == .idempotencyConflict)
            #expect(results[2].failure?.code == .idempotencyConflict)
            #expect(store.headPosition == 1)
        }
    }
}

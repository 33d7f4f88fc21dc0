import EventStore
import Foundation
import TestSupport
import Testing

/// A transaction that fails at commit time writes nothing, and the store's cached head and stream
/// versions are reset so the next append lands where it should.
@Suite struct FailedTransactionTests {
    @Test func aFailedTransactionWritesNothingAndTheNextAppendFollowsTheHead() throws {
        try withTemporaryDirectory { directory in
            let dataDirectory = directory.appending("data")
            var store = try EventStore(directory: dataDirectory)
            _ = try store.append([AppendRequest(stream: "a-1", expectedVersion: .noStream, events: [event()])])
            try store.close()
            try installFailingInsertTrigger(inStoreAt: dataDirectory)
            store = try EventStore(directory: dataDirectory)
            defer { try? store.close() }

            #expect(throws: EventStoreError.self) {
                try store.append([
                    AppendRequest(stream: "a-1", expectedVersion: .exact(0), events: [event()]),
                    AppendRequest(stream: "b-1", expectedVersion: .noStream, events: [event("Boom")]),
                ])
            }
            #expect(store.headPosition == 1)
            #expect(try store.streamVersion("a-1") == 0)
            #expect(try store.streamVersion("b-1") == nil)

            let next = try store.append([AppendRequest(stream: "a-1", expectedVersion: .exact(0), events: [event()])])
            #expect(try next[0].get().map(\.position) == [2])
            #expect(try store.integrityCheck().isEmpty)
        }
    }
}

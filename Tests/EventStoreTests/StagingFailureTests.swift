@testable import EventStore
import Foundation
import Testing

/// A batch whose staging fails halfway (a read it needs throws) must leave nothing of the
/// requests staged before the failure: no stream head, no id in the window.
@Suite struct StagingFailureTests {
    @Test func aBatchThatFailsHalfwayLeavesNoProvisionalState() throws {
        try withStore { store, _ in
            let first = try store.append("order-a", .noStream, [event()])
            #expect(first.map(\.version) == [0])
            // The index answers for streams not in memory: closed, their lookups throw.
            try store.index.close()
            let staged = NewEvent(type: "T", data: [])
            #expect(throws: EventStoreError.self) {
                _ = try store.stage([
                    AppendRequest(stream: "order-a", expectedVersion: .exact(0), events: [staged]),
                    AppendRequest(stream: "order-b", expectedVersion: .noStream, events: [event()]),
                ])
            }
            // order-a is still at version 0, and the id staged for it is not in the window.
            let again = try store.append([AppendRequest(stream: "order-a", expectedVersion: .exact(0), events: [staged])])
            let recorded = try #require(try again.first?.get())
            #expect(recorded.map(\.version) == [1])
            #expect(recorded.map(\.position) == [2], "a retry of an id left in the window would have answered position 2 without writing")
            #expect(store.headPosition == 2)
        }
    }
}

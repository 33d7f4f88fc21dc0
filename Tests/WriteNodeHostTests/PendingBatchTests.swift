import EventStore
import Foundation
import Testing
import WireProtocol
@testable import WriteNodeHost

/// The pure part of a group commit: who waits for what, and what each is answered.
@Suite struct PendingBatchTests {
    private func event(_ position: Int64, _ stream: String, _ version: Int64) -> RecordedEvent {
        RecordedEvent(id: UUID(), position: position, stream: stream, version: version, type: "T", data: [], metadata: nil, recordedAt: 0)
    }

    private func request(_ stream: String) -> AppendRequest {
        AppendRequest(stream: stream, expectedVersion: .any, events: [NewEvent(type: "T", data: [])])
    }

    private func body(_ reply: [[UInt8]]) throws -> JSONValue { try JSONParser.parse(reply.last!) }

    @Test func repliesKeepArrivalOrderAndAnswerEachFromItsOwnResults() throws {
        var batch = PendingBatch()
        batch.enqueue([[1]], [request("a-1")], receivedAt: 0)
        batch.fail([[2]], WireError(.malformed, "bad"))
        batch.answer([[3]], ["ok": true])
        batch.enqueue([[4]], [request("b-1"), request("b-2")], receivedAt: 0)
        var outcomes = RequestOutcomes()
        let replies = batch.replies(
            results: [.success([event(11, "a-1", 0)]), .success([event(12, "b-1", 0)]), .success([event(13, "b-2", 4)])],
            failure: WireError(.internal, "unused"), head: 10, outcomes: &outcomes)
        #expect(outcomes == RequestOutcomes(succeeded: 3, appended: 2, failed: [.malformed: 1]))
        #expect(replies.map(\.first) == [[1], [2], [3], [4]])
        #expect(try body(replies[0])["position"] == 11)
        #expect(try body(replies[1])["error"]?["code"] == "Malformed")
        #expect(try body(replies[2]) == ["ok": true])
        let last = try body(replies[3])
        #expect(last["position"] == 13)
        #expect(last["events"]?.arrayValue?.map { $0["version"] } == [0, 4])
    }

    @Test func aFailedGroupAnswersItsAppendsUnavailableAndLeavesTheOthersAlone() throws {
        var batch = PendingBatch()
        batch.enqueue([[1]], [request("a-1")], receivedAt: 0)
        batch.fail([[2]], WireError(.rejected, "no"))
        batch.answer([[3]], ["ok": true])
        var outcomes = RequestOutcomes()
        let replies = batch.replies(results: nil, failure: WireError(.unavailable, "disk full"), head: 10, outcomes: &outcomes)
        #expect(outcomes == RequestOutcomes(succeeded: 1, appended: 0, failed: [.unavailable: 1, .rejected: 1]))
        #expect(try body(replies[0])["error"]?["code"] == "Unavailable")
        #expect(try body(replies[1])["error"]?["code"] == "Rejected")
        #expect(try body(replies[2]) == ["ok": true])
    }

    @Test func aCommandWhoseAppendFailedIsAnsweredWithThatFailure() throws {
        var batch = PendingBatch()
        batch.enqueue([[1]], [request("a-1"), request("a-2")], receivedAt: 0)
        let failure = EventStoreError(.wrongExpectedVersion, "Wrong expected version: 0 (stream: a-2, stream version: 3)")
        var outcomes = RequestOutcomes()
        let replies = batch.replies(
            results: [.success([event(11, "a-1", 0)]), .failure(failure)], failure: WireError(.internal, "unused"), head: 10, outcomes: &outcomes)
        #expect(outcomes == RequestOutcomes(succeeded: 0, appended: 0, failed: [.wrongExpectedVersion: 1]))
        let reply = try body(replies[0])
        #expect(reply["error"]?["code"] == "WrongExpectedVersion")
        #expect(reply["error"]?["message"] == .string(failure.message))
    }

    @Test func genericAppendsMarkTheirStreamsCommandsDoNot() {
        var batch = PendingBatch()
        batch.enqueue([[1]], [request("a-1")], isGenericAppend: true, receivedAt: 0)
        batch.enqueue([[2]], [request("b-1")], receivedAt: 0)
        #expect(batch.touchedByAppend == ["a-1"])
        #expect(batch.requests.map(\.stream) == ["a-1", "b-1"])
    }

    @Test func storeErrorsMapToStableWireCodes() {
        #expect(WireError(EventStoreError(.wrongExpectedVersion, "x")).code == .wrongExpectedVersion)
        #expect(WireError(EventStoreError(.idempotencyConflict, "x")).code == .invalidArgument)
        #expect(WireError(EventStoreError(.invalidArgument, "x")).code == .invalidArgument)
        for code in [EventStoreError.Code.io, .damaged, .locked] {
            let error = WireError(EventStoreError(code, "disk"))
            #expect(error.code == .unavailable)
            #expect(error.message == "event store: disk")
        }
    }

    @Test func aConnectionAtItsShareClosesTheBatchWhateverTheOthersSent() {
        var batch = PendingBatch()
        for _ in 0..<2 {
            batch.noteRequest(from: [1], share: 3)
            batch.noteRequest(from: [2], share: 3)
        }
        #expect(!batch.connectionShareTaken)
        batch.noteRequest(from: [1], share: 3)
        #expect(batch.connectionShareTaken)
        #expect(!PendingBatch().connectionShareTaken, "a new batch starts open")
    }
}

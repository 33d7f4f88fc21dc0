import Foundation
@testable import ProjectionRuntime
import Testing
import TestSupport
import WireProtocol

struct SkippedEventsTests {
    struct Bad: Error {}

    static func failure(_ position: Int64) -> ApplyFailure {
        ApplyFailure(event: RecordedEvent(id: UUID(), position: position, stream: "order-1", version: 0, type: "T",
                                          data: [], metadata: nil, recordedAt: 0), error: Bad())
    }

    /// A line torn by a crash is cut at open, so the next skip is a line of its own and survives
    /// a restart (appended onto the torn line, it could not be read back).
    @Test func aTornLastLineIsCutSoTheNextSkipSurvives() throws {
        try withTemporaryDirectory("prism-skipped") { directory in
            let first = try SkippedEvents(directory: directory)
            try first.record(Self.failure(7))
            let handle = try #require(FileHandle(forWritingAtPath: first.path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"position": 9, "typ"#.utf8))
            try handle.close()

            let reopened = try SkippedEvents(directory: directory)
            #expect(reopened.positions == [7], "the torn line was never acknowledged")
            try reopened.record(Self.failure(11))
            #expect(try SkippedEvents(directory: directory).positions == [7, 11])
        }
    }
}

import Foundation
@testable import ProjectionRuntime
import Subscription
import Testing
import WireProtocol

@Suite struct LagRecorderTests {
    static func event(position: Int64, recordedAt: Int64) -> RecordedEvent {
        RecordedEvent(id: UUID(), position: position, stream: "order-1", version: position - 1, type: "T", data: [], metadata: nil, recordedAt: recordedAt)
    }

    @Test func lagCountsFromTheSyncTime() {
        var lag = LagRecorder()
        // Recorded at 1 s, synced 4 ms later, applied 1 ms after the sync.
        let batch = FeedBatch(events: [Self.event(position: 1, recordedAt: 1_000_000_000)], syncedAt: [1_004_000_000])
        lag.record(batch, appliedAt: 1_005_000_000)
        #expect(lag.total.histogram.totalCount == 1)
        #expect(lag.total.histogram.max == 1000, "1 ms from the sync, not 5 ms from recordedAt")
    }

    @Test func anEventWithoutASyncTimeCountsFromRecordedAt() {
        var lag = LagRecorder()
        let batch = FeedBatch(
            events: [Self.event(position: 1, recordedAt: 1_000_000_000), Self.event(position: 2, recordedAt: 1_000_000_000)],
            syncedAt: [0, 1_001_000_000])
        lag.record(batch, appliedAt: 1_002_000_000)
        let summary = LagRecorder.summary(lag.total)
        #expect(summary["count"]?.intValue == 2)
        // Below 2048 µs the histogram is exact.
        #expect(summary["max"]?.intValue == 2000, "the catch-up event counts from recordedAt: \(summary)")
        #expect(summary["p50"]?.intValue == 1000, "\(summary)")
    }

    @Test func theMeanIsExact() {
        var lag = LagRecorder()
        // 1001 µs and 2003 µs fall into histogram buckets wider than 1 µs; the mean is their exact average.
        lag.record(from: 0, appliedAt: 1_001_000)
        lag.record(from: 0, appliedAt: 2_003_000)
        lag.record(from: 0, appliedAt: 123_457_000)
        #expect(LagRecorder.summary(lag.total)["mean"] == .double(42153.7))
    }

    @Test func aResetEmptiesOnlyTheInterval() {
        var lag = LagRecorder()
        lag.record(from: 0, appliedAt: 5_000)
        lag.resetInterval()
        lag.record(from: 0, appliedAt: 7_000)
        #expect(LagRecorder.summary(lag.total)["count"]?.intValue == 2)
        #expect(LagRecorder.summary(lag.interval)["count"]?.intValue == 1)
        #expect(LagRecorder.summary(lag.interval)["mean"] == .double(7))
        #expect(LagRecorder.summary(LagRecorder().interval) == ["count": 0])
    }

    @Test func lagIsAtLeastOneMicrosecondAndAtMostAnHour() {
        var lag = LagRecorder()
        lag.record(from: 10_000, appliedAt: 0)  // clocks of two machines can disagree
        lag.record(from: 0, appliedAt: 10 * 3_600_000_000_000)
        #expect(lag.total.histogram.min == 1)
        #expect(lag.total.sumMicros == 1 + LagRecorder.highestMicros)
    }
}

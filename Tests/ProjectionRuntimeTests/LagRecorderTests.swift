import Foundation
import Latency
@testable import ProjectionRuntime
import Subscription
import Testing
import WireProtocol

@Suite struct LagRecorderTests {
    static func event(position: Int64, recordedAt: Int64) -> RecordedEvent {
        RecordedEvent(id: UUID(), position: position, stream: "order-1", version: position - 1, type: "T", data: [], metadata: nil, recordedAt: recordedAt)
    }

    /// A batch applied from 1.010 s, committed at 1.015 s after a 2 ms COMMIT.
    static let timing = ApplyTiming(startedAt: 1_010_000_000, committedAt: 1_015_000_000, commitNanoseconds: 2_000_000)

    @Test func lagCountsFromTheSyncTime() {
        var lag = LagRecorder()
        // Recorded at 1 s, synced 4 ms later, committed 11 ms after the sync.
        let batch = FeedBatch(events: [Self.event(position: 1, recordedAt: 1_000_000_000)], syncedAt: [1_004_000_000], receivedAt: [1_005_000_000])
        lag.record(batch, timing: Self.timing)
        #expect(lag.lag.total.histogram.totalCount == 1)
        #expect(lag.lag.total.sumMicros == 11000, "11 ms from the sync, not 15 ms from recordedAt")
    }

    @Test func theStagesOfALiveEventAddUpToItsLag() {
        var lag = LagRecorder()
        // Synced at 1.004 s, received 1 ms later, waits 5 ms for the transaction, 3 ms apply, 2 ms COMMIT.
        let batch = FeedBatch(events: [Self.event(position: 1, recordedAt: 1_000_000_000)], syncedAt: [1_004_000_000], receivedAt: [1_005_000_000])
        lag.record(batch, timing: Self.timing)
        // The means are exact (the histograms are exact only below 2048 µs).
        let stages = lag.stagesSummary(\.total)
        #expect(stages["network"]?["mean"] == .double(1000))
        #expect(stages["queue"]?["mean"] == .double(5000))
        #expect(stages["apply"]?["mean"] == .double(3000))
        #expect(stages["commit"]?["mean"] == .double(2000))
        #expect(stages["total"]?["mean"] == .double(11000))
    }

    @Test func beforePollIsThePartOfNetworkBeforeTheFeedListened() {
        var lag = LagRecorder()
        // Synced at 1.004 s and 1.006 s, the feed listening from 1.005 s, both read at 1.007 s.
        let batch = FeedBatch(
            events: [Self.event(position: 1, recordedAt: 0), Self.event(position: 2, recordedAt: 0)],
            syncedAt: [1_004_000_000, 1_006_000_000], receivedAt: [1_007_000_000, 1_007_000_000], listeningSince: 1_005_000_000)
        lag.record(batch, timing: Self.timing)
        let stages = lag.stagesSummary(\.total)
        #expect(stages["network"]?["mean"] == .double(2000))
        #expect(stages["beforePoll"]?["mean"] == .double(500), "1 ms for the first event, 0 for the one synced while listening")
    }

    @Test func aCatchUpEventHasLagButNoStages() {
        var lag = LagRecorder()
        let batch = FeedBatch(
            events: [Self.event(position: 1, recordedAt: 1_000_000_000), Self.event(position: 2, recordedAt: 1_000_000_000)],
            syncedAt: [0, 1_001_000_000], receivedAt: [1_002_000_000, 1_002_000_000])
        lag.record(batch, timing: Self.timing)
        let summary = lag.lag.total.summary
        #expect(summary["count"]?.intValue == 2)
        #expect(summary["mean"] == .double(14500), "the catch-up event counts 15 ms from recordedAt, the live one 14 ms: \(summary)")
        let stages = lag.stagesSummary(\.total)
        for stage in ["network", "queue", "apply", "commit", "total", "beforePoll"] {
            #expect(stages[stage]?["count"]?.intValue == 1, "only the live event has stages: \(stages)")
        }
    }

    @Test func onlyTheAppliedEventsAreRecorded() {
        var lag = LagRecorder()
        let batch = FeedBatch(
            events: [Self.event(position: 1, recordedAt: 0), Self.event(position: 2, recordedAt: 0)],
            syncedAt: [1_001_000_000, 1_001_000_000], receivedAt: [1_002_000_000, 1_002_000_000])
        lag.record(batch, first: 1, timing: Self.timing)
        #expect(lag.lag.total.summary["count"]?.intValue == 1)
        #expect(lag.stagesSummary(\.total)["apply"]?["count"]?.intValue == 1)
    }

    @Test func aStageIsNeverNegative() {
        var lag = LagRecorder()
        // A receive stamped before the sync (clocks of two machines), a COMMIT longer than the wall-clock span.
        let batch = FeedBatch(events: [Self.event(position: 1, recordedAt: 0)], syncedAt: [1_006_000_000], receivedAt: [1_005_000_000])
        lag.record(batch, timing: ApplyTiming(startedAt: 1_010_000_000, committedAt: 1_011_000_000, commitNanoseconds: 2_000_000))
        let stages = lag.stagesSummary(\.total)
        #expect(stages["network"]?["mean"] == .double(0))
        #expect(stages["apply"]?["mean"] == .double(0))
        #expect(stages["commit"]?["mean"] == .double(2000))
    }

    @Test func theMeanIsExact() {
        var lag = LagRecorder()
        // 1001 µs and 2003 µs fall into histogram buckets wider than 1 µs; the mean is their exact average.
        lag.record(from: 0, appliedAt: 1_001_000)
        lag.record(from: 0, appliedAt: 2_003_000)
        lag.record(from: 0, appliedAt: 123_457_000)
        #expect(lag.lag.total.summary["mean"] == .double(42153.7))
    }

    @Test func aResetEmptiesOnlyTheInterval() {
        var lag = LagRecorder()
        let batch = FeedBatch(events: [Self.event(position: 1, recordedAt: 0)], syncedAt: [1_004_000_000], receivedAt: [1_005_000_000])
        lag.record(batch, timing: Self.timing)
        lag.resetInterval()
        lag.record(from: 0, appliedAt: 7_000)
        #expect(lag.lag.total.summary["count"]?.intValue == 2)
        #expect(lag.lag.interval.summary["count"]?.intValue == 1)
        #expect(lag.lag.interval.summary["mean"] == .double(7))
        #expect(lag.stagesSummary(\.total)["queue"]?["count"]?.intValue == 1)
        #expect(lag.stagesSummary(\.interval)["queue"] == ["count": 0])
        #expect(LagRecorder().lag.interval.summary == ["count": 0])
    }

    @Test func lagIsAtLeastOneMicrosecondAndAtMostAnHour() {
        var lag = LagRecorder()
        lag.record(from: 10_000, appliedAt: 0)  // clocks of two machines can disagree
        lag.record(from: 0, appliedAt: 10 * 3_600_000_000_000)
        #expect(lag.lag.total.histogram.min == 1)
        #expect(lag.lag.total.sumMicros == 1 + MicrosecondHistogram.highestMicros)
    }
}

import Histogram
import Subscription
import WireProtocol

/// Lag per event, in microseconds, from the moment the write node's sync covering it returned
/// to the read model's commit, in an HDR histogram: since start, and since the last `stats` with
/// `reset` (the interval that lag-over-time sampling reads).
struct LagRecorder {
    /// One histogram and the exact sum behind its mean (the histogram's own mean is rounded to
    /// its buckets).
    struct Window {
        fileprivate(set) var histogram = Histogram<UInt64>(
            // 1 µs to one hour at 3 significant digits.
            lowestDiscernibleValue: 1, highestTrackableValue: LagRecorder.highestMicros, numberOfSignificantValueDigits: .three)
        fileprivate(set) var sumMicros: UInt64 = 0

        fileprivate mutating func record(_ micros: UInt64) {
            _ = histogram.record(micros)
            sumMicros &+= micros
        }
    }

    static let highestMicros: UInt64 = 3_600_000_000

    private(set) var total = Window()
    private(set) var interval = Window()

    /// Records the lag of each event of `batch`.
    ///
    /// An event that came by catch-up has no sync time; its lag counts from `recordedAt`, which
    /// is stamped before the sync, so it is never under-reported.
    /// - Parameter appliedAt: the read model's commit time, ns since the epoch.
    mutating func record(_ batch: FeedBatch, first count: Int? = nil, appliedAt: Int64) {
        let count = count ?? batch.count
        for (event, syncedAt) in zip(batch.events.prefix(count), batch.syncedAt.prefix(count)) {
            record(from: syncedAt != 0 ? syncedAt : event.recordedAt, appliedAt: appliedAt)
        }
    }

    /// - Parameters:
    ///   - start: when the lag starts, ns since the epoch.
    ///   - appliedAt: the read model's commit time, ns since the epoch.
    mutating func record(from start: Int64, appliedAt: Int64) {
        let micros = min(UInt64(clamping: max(1, (appliedAt - start) / 1000)), Self.highestMicros)
        total.record(micros)
        interval.record(micros)
    }

    mutating func resetInterval() { interval = Window() }

    static func summary(_ window: Window) -> JSONValue {
        let histogram = window.histogram
        guard histogram.totalCount > 0 else { return ["count": 0] }
        let mean = Double(window.sumMicros) / Double(histogram.totalCount)
        return [
            "count": .int(Int64(histogram.totalCount)),
            "p50": .int(Int64(histogram.valueAtPercentile(50))),
            "p90": .int(Int64(histogram.valueAtPercentile(90))),
            "p99": .int(Int64(histogram.valueAtPercentile(99))),
            "p999": .int(Int64(histogram.valueAtPercentile(99.9))),
            "max": .int(Int64(histogram.max)),
            "mean": .double((mean * 10).rounded() / 10),
        ]
    }
}

import Histogram
import WireProtocol

/// Commit→apply lag per event, in microseconds, in an HDR histogram: since start, and since the
/// last `stats` with `reset` (the interval that lag-over-time sampling reads).
struct LagRecorder {
    private(set) var total = LagRecorder.makeHistogram()
    private(set) var interval = LagRecorder.makeHistogram()

    private static func makeHistogram() -> Histogram<UInt64> {
        // 1 µs to one hour at 3 significant digits.
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// - Parameters:
    ///   - recordedAt: the write node's commit time, ns since the epoch.
    ///   - appliedAt: the read model's commit time, ns since the epoch.
    mutating func record(recordedAt: Int64, appliedAt: Int64) {
        let micros = UInt64(clamping: max(1, (appliedAt - recordedAt) / 1000))
        let value = min(micros, 3_600_000_000)
        _ = total.record(value)
        _ = interval.record(value)
    }

    mutating func resetInterval() { interval = Self.makeHistogram() }

    static func summary(_ histogram: Histogram<UInt64>) -> JSONValue {
        guard histogram.totalCount > 0 else { return ["count": 0] }
        return [
            "count": .int(Int64(histogram.totalCount)),
            "p50": .int(Int64(histogram.valueAtPercentile(50))),
            "p90": .int(Int64(histogram.valueAtPercentile(90))),
            "p99": .int(Int64(histogram.valueAtPercentile(99))),
            "p999": .int(Int64(histogram.valueAtPercentile(99.9))),
            "max": .int(Int64(histogram.max)),
            "mean": .double((histogram.mean * 10).rounded() / 10),
        ]
    }
}

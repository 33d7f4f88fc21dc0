import Histogram
import JSON

/// Durations in microseconds in an HDR histogram (1 µs to one hour, 3 significant digits), with
/// the exact sum behind the mean (the histogram's own mean is rounded to its buckets).
///
/// The one shape every latency in `stats` takes: the projector's lag and its stages, the write
/// node's group commits.
public struct MicrosecondHistogram {
    public static let highestMicros: UInt64 = 3_600_000_000

    public private(set) var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: MicrosecondHistogram.highestMicros, numberOfSignificantValueDigits: .three)
    public private(set) var sumMicros: UInt64 = 0

    public init() {}

    /// Records `micros`, capped at an hour.
    public mutating func record(_ micros: UInt64) {
        let micros = min(micros, Self.highestMicros)
        _ = histogram.record(micros)
        sumMicros &+= micros
    }

    /// Records a duration given in nanoseconds: truncated to microseconds, a negative one as 0.
    public mutating func record(nanoseconds: Int64) {
        record(UInt64(clamping: max(0, nanoseconds) / 1000))
    }

    /// `{"count": 0}` when empty, else count, p50, p90, p99, p999, max and mean (one decimal).
    public var summary: JSONValue {
        guard histogram.totalCount > 0 else { return ["count": 0] }
        let mean = Double(sumMicros) / Double(histogram.totalCount)
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

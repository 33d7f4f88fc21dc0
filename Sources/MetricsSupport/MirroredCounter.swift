import CoreMetrics

/// A Prometheus counter that follows a running total counted elsewhere (a `stats` field, the
/// security layer's refusals): `follow` adds what the total gained since it was last seen, so the
/// count is kept once, where it already was, and exported without per-event work.
///
/// `follow` is called by one thread at a time: the thread that owns the total, or the metrics
/// endpoint's single event loop at scrape time.
public final class MirroredCounter: @unchecked Sendable {
    private let counter: Counter
    private var seen = 0

    public init(label: String, dimensions: [(String, String)] = [], factory: any MetricsFactory = MetricsSystem.factory) {
        counter = Counter(label: label, dimensions: dimensions, factory: factory)
    }

    /// Catches the counter up with `total`; a total lower than before (a source that started
    /// again) becomes the new base, since a counter never goes down.
    public func follow(_ total: Int) {
        if total > seen { counter.increment(by: Int64(total - seen)) }
        seen = total
    }
}

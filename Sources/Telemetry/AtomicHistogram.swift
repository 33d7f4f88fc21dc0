import CoreMetrics
import Synchronization

/// A Prometheus histogram whose observations are relaxed atomic additions: no lock.
///
/// swift-prometheus's own histogram takes a lock per observation; Prism observes per request and
/// per event (append latency, lag), where a lock that was not there before is not wanted. The
/// buckets are counted apart and summed when scraped, so a scrape may see an observation in its
/// bucket a moment before it is in `_count` — never a count going down.
final class AtomicHistogram: TimerHandler, RecorderHandler, Sendable {
    let name: String
    let labels: [(String, String)]
    /// Upper bounds, ascending, in the unit exported (seconds for a timer).
    let bounds: [Double]
    /// A timer records nanoseconds and exports seconds; a value histogram exports what it records.
    private let scale: Double
    private let counts: [Cell]
    /// The sum in the unit recorded, as the bits of a Double.
    private let sumBits = Atomic<UInt64>(0)

    private final class Cell: Sendable {
        let value = Atomic<Int>(0)
    }

    init(name: String, labels: [(String, String)], bounds: [Double], recordsNanoseconds: Bool) {
        self.name = name
        self.labels = labels
        self.bounds = bounds
        scale = recordsNanoseconds ? 1e-9 : 1
        counts = (0...bounds.count).map { _ in Cell() }
    }

    func recordNanoseconds(_ duration: Int64) { observe(Double(duration)) }
    func record(_ value: Int64) { observe(Double(value)) }
    func record(_ value: Double) { observe(value) }

    private func observe(_ raw: Double) {
        let value = raw * scale
        // Few buckets: a linear scan beats a binary search's branches.
        var index = 0
        while index < bounds.count, value > bounds[index] { index += 1 }
        counts[index].value.wrappingAdd(1, ordering: .relaxed)
        var old = sumBits.load(ordering: .relaxed)
        while true {
            let (exchanged, current) = sumBits.compareExchange(
                expected: old, desired: (Double(bitPattern: old) + raw).bitPattern, ordering: .relaxed)
            if exchanged { return }
            old = current
        }
    }

    /// The series of this histogram in the text format (without its `# TYPE` line).
    func emit(into text: inout String) {
        let labelText = labels.map { "\($0.0)=\"\(PrometheusText.escape($0.1))\"" }
        var cumulative = 0
        for (index, cell) in counts.enumerated() {
            cumulative += cell.value.load(ordering: .relaxed)
            let bound = index < bounds.count ? PrometheusText.number(bounds[index]) : "+Inf"
            text += "\(name)_bucket{\((labelText + ["le=\"\(bound)\""]).joined(separator: ","))} \(cumulative)\n"
        }
        let suffix = labelText.isEmpty ? "" : "{\(labelText.joined(separator: ","))}"
        text += "\(name)_sum\(suffix) \(PrometheusText.number(Double(bitPattern: sumBits.load(ordering: .relaxed)) * scale))\n"
        text += "\(name)_count\(suffix) \(cumulative)\n"
    }
}

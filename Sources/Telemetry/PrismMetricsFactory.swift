import CoreMetrics
import Prometheus
import Synchronization

/// The swift-metrics backend of every Prism process: counters and gauges in a
/// `PrometheusCollectorRegistry` (with their `# HELP` text), histograms as `AtomicHistogram`s.
///
/// Libraries create their metrics through swift-metrics alone (`Counter(label:)`, `Timer(label:)`);
/// the executable bootstraps this factory before it builds them.
final class PrismMetricsFactory: MetricsFactory, Sendable {
    let registry: PrometheusCollectorRegistry
    /// `# HELP` text per metric name: a name missing here is exported without one.
    private let help: [String: String]
    private let histograms = Mutex<[String: [AtomicHistogram]]>([:])

    /// Bucket bounds of timers, in seconds: 50 µs (a group commit on a fast disk) to 10 s.
    static let secondsBuckets: [Double] = [
        0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]
    /// Bucket bounds of counts (a group's requests, a batch's events).
    static let sizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 10_000]

    init(registry: PrometheusCollectorRegistry, help: [String: String]) {
        self.registry = registry
        self.help = help
    }

    /// The whole name as one part: Prism's names are written out in full where they are made.
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return histogram(label, dimensions, bounds: Self.sizeBuckets, recordsNanoseconds: false)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        histogram(label, dimensions, bounds: Self.secondsBuckets, recordsNanoseconds: true)
    }

    /// One histogram per name and label set, as the registry does for counters.
    private func histogram(_ name: String, _ labels: [(String, String)], bounds: [Double], recordsNanoseconds: Bool) -> AtomicHistogram {
        histograms.withLock { families in
            if let existing = families[name]?.first(where: { $0.labels.elementsEqual(labels, by: ==) }) { return existing }
            let created = AtomicHistogram(name: name, labels: labels, bounds: bounds, recordsNanoseconds: recordsNanoseconds)
            families[name, default: []].append(created)
            return created
        }
    }

    // Prism's metrics live as long as their process: nothing is unregistered.
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    /// Every metric in the text format: the registry's, then the histograms, sorted by name.
    func exposition() -> [UInt8] {
        var bytes = registry.emitToBuffer()
        var text = ""
        for (name, family) in histograms.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            if let help = help[name] { text += "# HELP \(name) \(help)\n" }
            text += "# TYPE \(name) histogram\n"
            for histogram in family { histogram.emit(into: &text) }
        }
        bytes += Array(text.utf8)
        return bytes
    }
}

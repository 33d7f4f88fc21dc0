import CoreMetrics

/// One gauge per state, 1 for the current one and 0 for the others (`prism_projector_state{state=…}`),
/// so an alert can match a state and a dashboard can show the history of states.
public final class StateGauge: @unchecked Sendable {
    private let gauges: [String: Gauge]
    /// Written only by the thread that owns the state.
    private var current: String?

    public init(label: String, states: [String], dimensions: [(String, String)] = [], factory: any MetricsFactory = MetricsSystem.factory) {
        gauges = Dictionary(uniqueKeysWithValues: states.map {
            ($0, Gauge(label: label, dimensions: dimensions + [("state", $0)], factory: factory))
        })
        for gauge in gauges.values { gauge.record(0) }
    }

    /// Sets `state` (one of those given at init) as current; cheap when it has not changed.
    public func set(_ state: String) {
        guard state != current else { return }
        if let current { gauges[current]?.record(0) }
        gauges[state]?.record(1)
        current = state
    }
}

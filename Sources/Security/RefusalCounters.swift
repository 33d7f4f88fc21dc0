import CoreMetrics
import MetricsSupport

/// `prism_refusals_total{stage, role}`: the gatekeeper's refusals, followed at scrape time.
public final class RefusalCounters: @unchecked Sendable {
    public static let help = [
        "prism_refusals_total": "Connections (stage handshake) and requests (stage request) refused by --keys, by the role that was needed (any: a request any role may make).",
    ]

    private let factory: any MetricsFactory
    /// Created as roles are first refused; only the scrape's thread touches it.
    private var counters: [String: MirroredCounter] = [:]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    public func follow(_ gatekeeper: Gatekeeper) {
        let (handshakes, requests) = gatekeeper.refusalsByRole
        for (stage, counts) in [("handshake", handshakes), ("request", requests)] {
            for (role, count) in counts {
                let key = "\(stage)/\(role)"
                let counter = counters[key] ?? MirroredCounter(label: "prism_refusals_total", dimensions: [("stage", stage), ("role", role)], factory: factory)
                counters[key] = counter
                counter.follow(count)
            }
        }
    }
}

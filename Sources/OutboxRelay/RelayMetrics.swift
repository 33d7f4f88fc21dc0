import CoreMetrics
import MetricsSupport
import Security

/// The outbox relay's Prometheus metrics (`docs/METRICS.md`), as swift-metrics handles: no-ops
/// until the executable bootstraps a backend (`--metrics-endpoint`).
///
/// Read at scrape time from what `RelayStatus` already counts under its lock; only the lag is
/// observed as it happens (per event, under that same lock, with atomic additions).
public final class RelayMetrics: @unchecked Sendable {
    /// `# HELP` text of every metric below, for the exporter.
    public static let help: [String: String] = [
        "prism_relay_rows_waiting": "Outbox rows not yet relayed, as last counted (absent until the source has been read).",
        "prism_relay_events_total": "Events the write node acknowledged for the relay (stats relayed).",
        "prism_relay_dead_letters_total": "Rows moved aside because the write node refused them for good (stats deadLettered).",
        "prism_relay_batches_total": "Batches relayed and consumed from the source (stats batches).",
        "prism_relay_lag_seconds": "Per event, from the source transaction's commit to the write node's acknowledgement.",
        "prism_relay_slot_retained_bytes": "CDC: the WAL the replication slot holds back (stats cdc.retainedBytes), as last read.",
        "prism_relay_position": "Highest log position the write node acknowledged to the relay.",
        "prism_relay_connected": "1 while the relay's link to the peer (postgres, write-node) works, else 0.",
        "prism_relay_leader": "1 while this relay holds the relay lock (the one relaying), else 0 (standby).",
    ].merging(RefusalCounters.help) { $1 }

    private let factory: any MetricsFactory
    let lag: CoreMetrics.Timer
    private let events: MirroredCounter
    private let deadLetters: MirroredCounter
    private let batches: MirroredCounter
    /// Made once the source has been counted: until then the number is not known.
    private var rowsWaiting: Gauge?
    /// Made once a CDC source has read its slot (absent in outbox mode).
    private var slotRetained: Gauge?
    private let position: Gauge
    private let postgresConnected: Gauge
    private let writeNodeConnected: Gauge
    private let leader: Gauge
    private let refusals: RefusalCounters

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        lag = CoreMetrics.Timer(label: "prism_relay_lag_seconds", factory: factory)
        events = MirroredCounter(label: "prism_relay_events_total", factory: factory)
        deadLetters = MirroredCounter(label: "prism_relay_dead_letters_total", factory: factory)
        batches = MirroredCounter(label: "prism_relay_batches_total", factory: factory)
        position = Gauge(label: "prism_relay_position", factory: factory)
        postgresConnected = Gauge(label: "prism_relay_connected", dimensions: [("peer", "postgres")], factory: factory)
        writeNodeConnected = Gauge(label: "prism_relay_connected", dimensions: [("peer", "write-node")], factory: factory)
        leader = Gauge(label: "prism_relay_leader", factory: factory)
        refusals = RefusalCounters(factory: factory)
    }

    /// At scrape time, on the metrics endpoint's thread.
    func refresh(_ counts: RelayStatus.Counts, gatekeeper: Gatekeeper?) {
        events.follow(counts.relayed)
        deadLetters.follow(counts.deadLettered)
        batches.follow(counts.batches)
        if let waiting = counts.waiting {
            let gauge = rowsWaiting ?? Gauge(label: "prism_relay_rows_waiting", factory: factory)
            rowsWaiting = gauge
            gauge.record(waiting)
        }
        if let retained = counts.slotRetainedBytes {
            let gauge = slotRetained ?? Gauge(label: "prism_relay_slot_retained_bytes", factory: factory)
            slotRetained = gauge
            gauge.record(retained)
        }
        position.record(counts.position)
        postgresConnected.record(counts.postgresConnected ? 1 : 0)
        writeNodeConnected.record(counts.writeNodeConnected ? 1 : 0)
        leader.record(counts.holdsLock ? 1 : 0)
        if let gatekeeper { refusals.follow(gatekeeper) }
    }
}

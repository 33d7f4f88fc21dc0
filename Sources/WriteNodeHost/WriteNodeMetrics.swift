import CoreMetrics
import EventStore
import Security
import WireProtocol

/// The write node's Prometheus metrics (`docs/METRICS.md`), as swift-metrics handles: no-ops until
/// the executable bootstraps a backend (`--metrics-endpoint`).
///
/// The sequencer updates them once per group commit from the numbers it already has (a request
/// adds an atomic increment and, if it appended, one histogram observation: no lock); positions
/// and refusals are read when scraped (`refresh`).
public final class WriteNodeMetrics: Sendable {
    /// `# HELP` text of every metric below, for the exporter.
    public static let help: [String: String] = [
        "prism_write_requests_total": "Requests answered by the write node, by outcome (ok, error) and error code (none when ok).",
        "prism_write_appends_total": "Commands and generic appends made durable and acknowledged.",
        "prism_write_events_total": "Events appended (made durable).",
        "prism_write_groups_total": "Group commits made durable (one fdatasync each).",
        "prism_write_group_failures_total": "Group commits that failed to write or sync (their requests answered Unavailable).",
        "prism_write_group_requests": "Requests in a group commit.",
        "prism_write_sync_seconds": "Time to write and fdatasync one group commit.",
        "prism_write_append_seconds": "Time from an appending request read off the socket to its reply sent.",
        "prism_write_head_position": "Global position of the last durable event.",
        "prism_write_indexed_position": "Global position the indexer has indexed through.",
        "prism_write_index_behind_events": "Events durable but not yet indexed (head minus indexed position).",
        "prism_write_appends_refused": "1 while appends are refused after a failed write (health appendsRefused), else 0.",
    ].merging(RefusalCounters.help) { $1 }

    private let requestsOK: Counter
    private let requestsFailed: [ErrorCode: Counter]
    private let appends: Counter
    let events: Counter
    let groups: Counter
    let groupFailures: Counter
    let groupRequests: Recorder
    let sync: Timer
    let appendLatency: Timer
    private let head: Gauge
    private let indexed: Gauge
    private let indexBehind: Gauge
    private let appendsRefused: Gauge
    private let refusals: RefusalCounters

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        requestsOK = Counter(label: "prism_write_requests_total", dimensions: [("outcome", "ok"), ("code", "none")], factory: factory)
        requestsFailed = Dictionary(uniqueKeysWithValues: ErrorCode.allCases.map {
            ($0, Counter(label: "prism_write_requests_total", dimensions: [("outcome", "error"), ("code", $0.rawValue)], factory: factory))
        })
        appends = Counter(label: "prism_write_appends_total", factory: factory)
        events = Counter(label: "prism_write_events_total", factory: factory)
        groups = Counter(label: "prism_write_groups_total", factory: factory)
        groupFailures = Counter(label: "prism_write_group_failures_total", factory: factory)
        groupRequests = Recorder(label: "prism_write_group_requests", factory: factory)
        sync = Timer(label: "prism_write_sync_seconds", factory: factory)
        appendLatency = Timer(label: "prism_write_append_seconds", factory: factory)
        head = Gauge(label: "prism_write_head_position", factory: factory)
        indexed = Gauge(label: "prism_write_indexed_position", factory: factory)
        indexBehind = Gauge(label: "prism_write_index_behind_events", factory: factory)
        appendsRefused = Gauge(label: "prism_write_appends_refused", factory: factory)
        refusals = RefusalCounters(factory: factory)
    }

    /// Adds one group's replies, counted as they were written.
    func record(_ outcomes: RequestOutcomes) {
        if outcomes.succeeded > 0 { requestsOK.increment(by: Int64(outcomes.succeeded)) }
        if outcomes.appended > 0 { appends.increment(by: Int64(outcomes.appended)) }
        for (code, count) in outcomes.failed { requestsFailed[code]?.increment(by: Int64(count)) }
    }

    /// At scrape time: what the store and the security layer count, read under their own locks.
    func refresh(store: EventStore, gatekeeper: Gatekeeper?) {
        let headPosition = store.headPosition
        let indexedPosition = store.indexedPosition
        head.record(headPosition)
        indexed.record(indexedPosition)
        indexBehind.record(headPosition - indexedPosition)
        appendsRefused.record(store.failure == nil ? 0 : 1)
        if let gatekeeper { refusals.follow(gatekeeper) }
    }
}

/// Requests answered in one group, by outcome: flushed to `prism_write_requests_total` once per group.
struct RequestOutcomes: Equatable {
    /// Answered `ok`: appends made durable and queries answered.
    var succeeded = 0
    /// Of `succeeded`, the commands and generic appends.
    var appended = 0
    var failed: [ErrorCode: Int] = [:]
}

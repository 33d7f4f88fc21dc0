import CoreMetrics
import MetricsSupport
import Security
import Synchronization
import WireProtocol

/// A projector's Prometheus metrics (`docs/METRICS.md`), as swift-metrics handles labelled with the
/// projector's name: no-ops until the executable bootstraps a backend (`--metrics-endpoint`).
///
/// The projector's thread updates them from the numbers it keeps for `stats`: per batch (events,
/// its size and duration), per event only the lag (one lock-free histogram observation), per
/// query one counter, and once per loop pass the positions, state and counts `stats` already has.
/// The read model's own figures can cost a round trip to its server, so they are read only when a
/// scrape asked (`scrapeAsked`), at the projector's next pass: they lag one scrape behind.
public final class ProjectorMetrics: @unchecked Sendable {
    /// `# HELP` text of every metric below, for the exporter.
    public static let help: [String: String] = [
        "prism_projector_applied_position": "Global position the read model has applied and committed through.",
        "prism_projector_head_position": "The write node's head as this projector last heard it (heartbeat, event or catch-up).",
        "prism_projector_behind_events": "Events between the head seen and the applied position.",
        "prism_projector_events_total": "Events applied to the read model.",
        "prism_projector_transactions_total": "Read-model transactions committed (batches with their checkpoint).",
        "prism_projector_batch_events": "Events in one applied batch.",
        "prism_projector_batch_seconds": "Time to apply and commit one batch.",
        "prism_projector_lag_seconds": "Per event, from the write node's sync returning to the read model's commit.",
        "prism_projector_queries_total": "Queries answered, by query name (unknown for names the projector does not answer), outcome and error code.",
        "prism_projector_position_waits_total": "Queries that waited for their minPosition to be applied.",
        "prism_projector_stale_answers_total": "Queries answered Stale: minPosition not applied within timeoutMs.",
        "prism_projector_waiting_queries": "Queries waiting for their minPosition now.",
        "prism_projector_gaps_repaired_total": "Gaps in the event feed filled from the catch-up endpoint.",
        "prism_projector_resubscriptions_total": "Times the feed resubscribed after silence from the write node.",
        "prism_projector_store_failures_total": "Read-model store failures (each retried with backoff).",
        "prism_projector_skipped_events": "Events parked in skipped.jsonl by a skip request.",
        "prism_projector_generation": "The live read-model generation (rises by one per finished rebuild).",
        "prism_projector_rebuilding": "1 while a rebuild fills a new copy beside the live one, else 0.",
        "prism_projector_rebuild_position": "Position the copy being rebuilt has applied through (0 when none).",
        "prism_projector_rebuild_head_position": "Head the copy being rebuilt is heading for (0 when none).",
        "prism_projector_state": "1 for the projector's current health state (live, catchingUp, rebuilding, retrying, disconnected, failed), 0 for the others.",
        "prism_projector_store_connected": "1 while the read model's store answers (always 1 for an embedded store), else 0.",
        "prism_projector_store_figure": "A read model store's own numeric figure from stats' readModel, by its path there (one scrape behind).",
    ].merging(RefusalCounters.help) { $1 }

    /// The health states, as `health` names them.
    public static let states = ["live", "catchingUp", "rebuilding", "retrying", "disconnected", "failed"]

    private let factory: any MetricsFactory
    private let name: [(String, String)]
    private let applied: Gauge
    private let head: Gauge
    private let behind: Gauge
    let events: Counter
    let transactions: Counter
    let batchEvents: Recorder
    let batchDuration: Timer
    let lag: Timer
    let positionWaits: Counter
    let staleAnswers: Counter
    let storeFailures: Counter
    private let waiting: Gauge
    private let gapsRepaired: MirroredCounter
    private let resubscriptions: MirroredCounter
    private let skipped: Gauge
    private let generation: Gauge
    private let rebuilding: Gauge
    private let rebuildPosition: Gauge
    private let rebuildHead: Gauge
    private let state: StateGauge
    /// Made at the first scrape's reading: until then whether the store answers is not known.
    private var storeConnected: Gauge?
    private let refusals: RefusalCounters
    /// Per query name and code ("none" when ok); the projector's thread alone touches it.
    private var queries: [String: Counter] = [:]
    private var storeFigures: [String: Gauge] = [:]
    private let scrapeWanted = Atomic<Bool>(false)

    public init(projector: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        let name = [("projector", projector)]
        self.name = name
        applied = Gauge(label: "prism_projector_applied_position", dimensions: name, factory: factory)
        head = Gauge(label: "prism_projector_head_position", dimensions: name, factory: factory)
        behind = Gauge(label: "prism_projector_behind_events", dimensions: name, factory: factory)
        events = Counter(label: "prism_projector_events_total", dimensions: name, factory: factory)
        transactions = Counter(label: "prism_projector_transactions_total", dimensions: name, factory: factory)
        batchEvents = Recorder(label: "prism_projector_batch_events", dimensions: name, factory: factory)
        batchDuration = Timer(label: "prism_projector_batch_seconds", dimensions: name, factory: factory)
        lag = Timer(label: "prism_projector_lag_seconds", dimensions: name, factory: factory)
        positionWaits = Counter(label: "prism_projector_position_waits_total", dimensions: name, factory: factory)
        staleAnswers = Counter(label: "prism_projector_stale_answers_total", dimensions: name, factory: factory)
        storeFailures = Counter(label: "prism_projector_store_failures_total", dimensions: name, factory: factory)
        waiting = Gauge(label: "prism_projector_waiting_queries", dimensions: name, factory: factory)
        gapsRepaired = MirroredCounter(label: "prism_projector_gaps_repaired_total", dimensions: name, factory: factory)
        resubscriptions = MirroredCounter(label: "prism_projector_resubscriptions_total", dimensions: name, factory: factory)
        skipped = Gauge(label: "prism_projector_skipped_events", dimensions: name, factory: factory)
        generation = Gauge(label: "prism_projector_generation", dimensions: name, factory: factory)
        rebuilding = Gauge(label: "prism_projector_rebuilding", dimensions: name, factory: factory)
        rebuildPosition = Gauge(label: "prism_projector_rebuild_position", dimensions: name, factory: factory)
        rebuildHead = Gauge(label: "prism_projector_rebuild_head_position", dimensions: name, factory: factory)
        state = StateGauge(label: "prism_projector_state", states: Self.states, dimensions: name, factory: factory)
        refusals = RefusalCounters(factory: factory)
    }

    /// What the projector's loop knows on each pass.
    struct Pass {
        var applied: Int64
        var head: Int64
        var waitingQueries: Int
        var gapsRepaired: Int
        var resubscriptions: Int
        var skipped: Int
        var generation: Int
        var rebuild: (applied: Int64, head: Int64)?
        var state: String
    }

    /// Once per loop pass, on the projector's thread: a few atomic stores.
    func update(_ pass: Pass) {
        applied.record(pass.applied)
        head.record(pass.head)
        behind.record(pass.head - pass.applied)
        waiting.record(pass.waitingQueries)
        gapsRepaired.follow(pass.gapsRepaired)
        resubscriptions.follow(pass.resubscriptions)
        skipped.record(pass.skipped)
        generation.record(pass.generation)
        rebuilding.record(pass.rebuild == nil ? 0 : 1)
        rebuildPosition.record(pass.rebuild?.applied ?? 0)
        rebuildHead.record(pass.rebuild?.head ?? 0)
        state.set(pass.state)
    }

    /// Counts one reply to a query named `query` (already bounded to the names answered).
    func countQuery(_ query: String, reply: JSONValue) {
        let code = reply["ok"] == true ? "none" : reply["error"]?["code"]?.stringValue ?? "Internal"
        let key = "\(query)/\(code)"
        if let counter = queries[key] { return counter.increment() }
        let counter = Counter(label: "prism_projector_queries_total", dimensions: name + [
            ("query", query), ("outcome", code == "none" ? "ok" : "error"), ("code", code),
        ], factory: factory)
        queries[key] = counter
        counter.increment()
    }

    /// From the metrics endpoint's thread: the next pass reads the read model's own figures.
    public func askForStoreFigures() {
        scrapeWanted.store(true, ordering: .relaxed)
    }

    /// On the projector's thread: whether a scrape asked for the store's figures since the last time.
    var storeFiguresWanted: Bool { scrapeWanted.exchange(false, ordering: .relaxed) }

    /// Exports the numbers and flags of `stats`' `readModel` (nil for a store that reports none).
    func updateStore(_ statistics: JSONValue?, gatekeeper: Gatekeeper?) {
        if let gatekeeper { refusals.follow(gatekeeper) }
        let connected = storeConnected ?? Gauge(label: "prism_projector_store_connected", dimensions: name, factory: factory)
        storeConnected = connected
        connected.record(statistics?["connected"] == false ? 0 : 1)
        guard let statistics else { return }
        let storeKind = statistics["store"]?.stringValue ?? "embedded"
        for (path, value) in Self.figures(statistics) {
            let gauge = storeFigures[path] ?? Gauge(
                label: "prism_projector_store_figure", dimensions: name + [("store", storeKind), ("figure", path)], factory: factory)
            storeFigures[path] = gauge
            gauge.record(value)
        }
    }

    /// The numeric and true/false leaves of a JSON object, by their dotted path.
    static func figures(_ value: JSONValue, path: String = "") -> [(String, Double)] {
        switch value {
        case .object(let members):
            return members.sorted { $0.key < $1.key }.flatMap { figures($0.value, path: path.isEmpty ? $0.key : "\(path).\($0.key)") }
        case .int(let number): return [(path, Double(number))]
        case .double(let number): return [(path, number)]
        case .bool(let flag): return [(path, flag ? 1 : 0)]
        default: return []
        }
    }
}

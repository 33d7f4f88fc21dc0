import CoreMetrics
import Latency
import Subscription
import WireProtocol

/// Lag per event, in microseconds, from the moment the write node's sync covering it returned
/// to the read model's commit, and its stages, in HDR histograms: since start, and since the last
/// `stats` with `reset` (the interval that lag-over-time sampling reads).
///
/// The stages of a live event (one with a sync time) add up to its lag:
/// `network` sync → the feed read its PUB message (publish, network, SUB queue);
/// `queue` → the projector started the batch's transaction; `apply` → before its COMMIT;
/// `commit` the COMMIT itself. A batch's `apply` and `commit` count once per event in it, so
/// every histogram weighs events alike and the stages' means add up to `total`'s, the lag of
/// exactly these events. `beforePoll` is the part of `network` before the feed began waiting
/// for the message (the projector was applying, answering queries or not scheduled): the rest
/// of `network` is the write node's publish and the transport.
struct LagRecorder {
    /// One measure over both windows.
    struct Windows {
        private(set) var total = MicrosecondHistogram()
        private(set) var interval = MicrosecondHistogram()

        fileprivate mutating func record(_ micros: UInt64) {
            total.record(micros)
            interval.record(micros)
        }

        fileprivate mutating func record(nanoseconds: Int64) {
            total.record(nanoseconds: nanoseconds)
            interval.record(nanoseconds: nanoseconds)
        }

        fileprivate mutating func resetInterval() { interval = MicrosecondHistogram() }
    }

    private(set) var lag = Windows()
    private(set) var network = Windows()
    private(set) var queue = Windows()
    private(set) var apply = Windows()
    private(set) var commit = Windows()
    private(set) var beforePoll = Windows()
    /// The lag of the events the stages cover (live ones), which the stages add up to.
    private(set) var liveLag = Windows()
    /// `prism_projector_lag_seconds`: each lag `lag` records, observed as recorded.
    private let exported: Timer?

    init(exporting exported: Timer? = nil) {
        self.exported = exported
    }

    /// Records the lag of each event of `batch`, and the stages of each live one.
    ///
    /// An event that came by catch-up has no sync time; its lag counts from `recordedAt`, which
    /// is stamped before the sync, so it is never under-reported, and it has no stages.
    mutating func record(_ batch: FeedBatch, first count: Int? = nil, timing: ApplyTiming) {
        let count = count ?? batch.count
        let applyNanoseconds = timing.committedAt - timing.startedAt - timing.commitNanoseconds
        for index in 0..<count {
            let syncedAt = batch.syncedAt[index]
            guard syncedAt != 0 else {
                record(from: batch.events[index].recordedAt, appliedAt: timing.committedAt)
                continue
            }
            record(from: syncedAt, appliedAt: timing.committedAt)
            liveLag.record(Self.lagMicros(from: syncedAt, to: timing.committedAt))
            network.record(nanoseconds: batch.receivedAt[index] - syncedAt)
            beforePoll.record(nanoseconds: min(batch.listeningSince, batch.receivedAt[index]) - syncedAt)
            queue.record(nanoseconds: timing.startedAt - batch.receivedAt[index])
            apply.record(nanoseconds: applyNanoseconds)
            commit.record(nanoseconds: timing.commitNanoseconds)
        }
    }

    /// - Parameters:
    ///   - start: when the lag starts, ns since the epoch.
    ///   - appliedAt: the read model's commit time, ns since the epoch.
    mutating func record(from start: Int64, appliedAt: Int64) {
        let micros = Self.lagMicros(from: start, to: appliedAt)
        lag.record(micros)
        exported?.recordNanoseconds(Int64(clamping: micros) * 1000)
    }

    /// At least 1 µs: the clocks of two machines can disagree.
    private static func lagMicros(from start: Int64, to end: Int64) -> UInt64 {
        UInt64(clamping: max(1, (end - start) / 1000))
    }

    mutating func resetInterval() {
        lag.resetInterval()
        network.resetInterval()
        queue.resetInterval()
        apply.resetInterval()
        commit.resetInterval()
        beforePoll.resetInterval()
        liveLag.resetInterval()
    }

    /// `{network, queue, apply, commit, total, beforePoll}` of one window (`\.total` or `\.interval`).
    func stagesSummary(_ window: KeyPath<Windows, MicrosecondHistogram>) -> JSONValue {
        [
            "network": network[keyPath: window].summary, "queue": queue[keyPath: window].summary,
            "apply": apply[keyPath: window].summary, "commit": commit[keyPath: window].summary,
            "total": liveLag[keyPath: window].summary, "beforePoll": beforePoll[keyPath: window].summary,
        ]
    }
}

/// When one batch's transaction ran, for the lag stages.
struct ApplyTiming {
    /// When the projector started applying the batch, ns since the epoch.
    var startedAt: Int64
    /// When the read model's commit returned, ns since the epoch: the lag ends here.
    var committedAt: Int64
    /// How long the COMMIT took, in ns (`Projection.lastCommitNanoseconds`).
    var commitNanoseconds: Int64
}

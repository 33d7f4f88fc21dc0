import Foundation
import Histogram

/// A latency histogram in nanoseconds, up to a minute, three significant digits.
func makeLatencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

extension Histogram<UInt64> {
    /// Records a duration in nanoseconds, clamped to the trackable range.
    mutating func recordNanoseconds(_ nanoseconds: Int64) {
        _ = record(UInt64(Swift.min(Swift.max(nanoseconds, 0), 60_000_000_000)))
    }

    /// The value at `percentile`, in whole microseconds.
    func micros(_ percentile: Double) -> Int64 { Int64(valueAtPercentile(percentile) / 1000) }
    var maxMicros: Int64 { totalCount == 0 ? 0 : Int64(max / 1000) }
}

/// What the connection threads have measured so far, flushed in pieces so the main thread can
/// report progress while they run.
final class LoadResults: @unchecked Sendable {
    private let lock = NSLock()
    private var appendLatency = makeLatencyHistogram()
    private var sendLag = makeLatencyHistogram()
    private var sent = 0
    private var completed = 0
    private var lastReplyAt: Int64 = 0
    private var highestAcknowledged: Int64 = 0
    private var errors: [String: Int] = [:]

    /// One connection's measurements since its previous flush.
    struct Piece {
        var appendLatency = makeLatencyHistogram()
        var sendLag = makeLatencyHistogram()
        var sent = 0
        var completed = 0
        var lastReplyAt: Int64 = 0
        /// The highest position an `ok` reply carried: every projector must reach it.
        var highestAcknowledged: Int64 = 0
        var errors: [String: Int] = [:]

        var isEmpty: Bool { sent == 0 && completed == 0 && errors.isEmpty }

        mutating func reset() {
            appendLatency.reset()
            sendLag.reset()
            sent = 0
            completed = 0
            errors = [:]
        }
    }

    func add(_ piece: Piece) {
        lock.withLock {
            appendLatency.add(piece.appendLatency)
            sendLag.add(piece.sendLag)
            sent += piece.sent
            completed += piece.completed
            lastReplyAt = max(lastReplyAt, piece.lastReplyAt)
            highestAcknowledged = max(highestAcknowledged, piece.highestAcknowledged)
            errors.merge(piece.errors, uniquingKeysWith: +)
        }
    }

    func addError(_ code: String, count: Int = 1) {
        lock.withLock { errors[code, default: 0] += count }
    }

    struct Snapshot {
        var appendLatency: Histogram<UInt64>
        var sendLag: Histogram<UInt64>
        var sent: Int
        var completed: Int
        var lastReplyAt: Int64
        var highestAcknowledged: Int64
        var errors: [String: Int]
    }

    func snapshot() -> Snapshot {
        lock.withLock {
            Snapshot(appendLatency: appendLatency, sendLag: sendLag, sent: sent, completed: completed,
                     lastReplyAt: lastReplyAt, highestAcknowledged: highestAcknowledged, errors: errors)
        }
    }

    /// Cheap figures for a progress line: no histogram copy.
    func progress() -> (completed: Int, p99Micros: Int64, errors: Int) {
        lock.withLock { (completed, appendLatency.micros(99), errors.values.reduce(0, +)) }
    }
}

/// Write→visible times of one projector's probes.
final class VisibilityResults: @unchecked Sendable {
    let name: String
    private let lock = NSLock()
    private var latency = makeLatencyHistogram()
    private var stale = 0

    init(name: String) { self.name = name }

    func record(_ nanoseconds: Int64) { lock.withLock { latency.recordNanoseconds(nanoseconds) } }
    func recordStale() { lock.withLock { stale += 1 } }

    func snapshot() -> (latency: Histogram<UInt64>, stale: Int) { lock.withLock { (latency, stale) } }
}

import CoreMetrics
import Foundation
import JSON
import Latency

/// What the relay thread has done, read by the query thread (`health`, `stats`, `positionOf`):
/// every access holds the lock.
final class RelayStatus: @unchecked Sendable {
    private let lock = NSLock()

    /// One side's connection as `health` reports it.
    struct Link {
        var connected = false
        /// Why it is not connected (or the last failure), nil when it never failed.
        var error: String?

        var json: JSONValue {
            var members: [String: JSONValue] = ["status": .string(connected ? "connected" : "disconnected")]
            if let error { members["error"] = .string(error) }
            return .object(members)
        }
    }

    private var postgres = Link()
    private var writeNode = Link()
    private var holdsLock = false
    private var relayed = 0
    private var deadLettered = 0
    private var batches = 0
    private var appends = 0
    private var resolved = 0
    private var waiting: Int64?
    /// `ChangeSource.details`, reported under the source's name.
    private var sourceDetails: JSONValue?
    /// The highest log position the write node acknowledged to the relay.
    private var position: Int64 = 0
    private var lag = MicrosecondHistogram()
    private var recent: RecentPositions
    private let started = Date()
    /// `prism_relay_lag_seconds`: each lag `lag` records, observed as recorded.
    private let lagMetric: CoreMetrics.Timer?

    init(recentCapacity: Int, lagMetric: CoreMetrics.Timer? = nil) {
        recent = RecentPositions(capacity: recentCapacity)
        self.lagMetric = lagMetric
    }

    func notePostgres(connected: Bool, error: String? = nil) {
        lock.withLock {
            postgres.connected = connected
            if let error { postgres.error = error }
        }
    }

    func noteWriteNode(connected: Bool, error: String? = nil) {
        lock.withLock {
            writeNode.connected = connected
            if let error { writeNode.error = error }
        }
    }

    func noteLock(held: Bool) { lock.withLock { holdsLock = held } }

    func noteWaiting(_ count: Int64?) { lock.withLock { waiting = count } }

    func noteSourceDetails(_ details: JSONValue?) { lock.withLock { sourceDetails = details } }

    /// Records what the write node stored: the positions first (before the source forgets the rows),
    /// and the lag from each event's commit to `acknowledgedAt`.
    func noteStored(_ relayed: RelayedBatch, acknowledgedAt: Date) {
        lock.withLock {
            for event in relayed.batch.events {
                guard let stored = relayed.positions[event.id] else { continue }
                recent.insert(event.id, stored)
                position = max(position, stored)
                if let committedAt = event.committedAt {
                    let nanoseconds = Int64(acknowledgedAt.timeIntervalSince(committedAt) * 1e9)
                    lag.record(nanoseconds: nanoseconds)
                    lagMetric?.recordNanoseconds(max(0, nanoseconds))
                }
            }
        }
    }

    /// Counts a batch the source has consumed.
    func noteAcknowledged(_ relayed: RelayedBatch, work: BatchAppender.Work) {
        lock.withLock {
            self.relayed += relayed.positions.count
            deadLettered += relayed.deadLetters.count
            batches += 1
            appends += work.appends
            resolved += work.resolved
        }
    }

    /// The log position of a recently relayed event.
    func position(of id: UUID) -> Int64? { lock.withLock { recent[id] } }

    var lastPosition: Int64 { lock.withLock { position } }

    /// What the metrics follow, read at scrape time.
    struct Counts {
        var relayed: Int, deadLettered: Int, batches: Int
        var waiting: Int64?
        /// CDC: the WAL the replication slot holds back (the source's `retainedBytes`).
        var slotRetainedBytes: Int64? = nil
        var position: Int64
        var postgresConnected: Bool, writeNodeConnected: Bool, holdsLock: Bool
    }

    var counts: Counts {
        lock.withLock {
            Counts(relayed: relayed, deadLettered: deadLettered, batches: batches, waiting: waiting,
                   slotRetainedBytes: sourceDetails?["retainedBytes"]?.intValue, position: position,
                   postgresConnected: postgres.connected, writeNodeConnected: writeNode.connected, holdsLock: holdsLock)
        }
    }

    /// `serving`, `standby` (another relay holds the lock) or `disconnected`, with both links.
    func health(name: String, source: String) -> JSONValue {
        lock.withLock { () -> JSONValue in
            let status = !postgres.connected || !writeNode.connected ? "disconnected" : holdsLock ? "serving" : "standby"
            var members: [String: JSONValue] = [
                "name": .string(name), "source": .string(source), "status": .string(status),
                "postgres": postgres.json, "writeNode": writeNode.json,
            ]
            members[source] = sourceDetails
            return .object(members)
        }
    }

    func stats(name: String, source: String) -> JSONValue {
        lock.withLock { () -> JSONValue in
            var members: [String: JSONValue] = [
                "name": .string(name), "source": .string(source),
                "relayed": .int(Int64(relayed)), "deadLettered": .int(Int64(deadLettered)),
                "batches": .int(Int64(batches)), "appends": .int(Int64(appends)), "resolved": .int(Int64(resolved)),
                "waiting": waiting.map { .int($0) } ?? .null,
                "position": .int(position), "recentPositions": .int(Int64(recent.count)),
                "lagUs": lag.summary,
                "uptimeMs": .int(Int64(Date().timeIntervalSince(started) * 1000)),
            ]
            members[source] = sourceDetails
            return .object(members)
        }
    }
}

/// The last `capacity` event ids the relay stored, with their positions (oldest forgotten first).
struct RecentPositions {
    private let capacity: Int
    private var positions: [UUID: Int64] = [:]
    private var order: [UUID] = []
    private var oldest = 0

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { positions.count }

    subscript(id: UUID) -> Int64? { positions[id] }

    mutating func insert(_ id: UUID, _ position: Int64) {
        if positions.updateValue(position, forKey: id) != nil { return }
        if order.count < capacity {
            order.append(id)
        } else {
            positions[order[oldest]] = nil
            order[oldest] = id
            oldest = (oldest + 1) % capacity
        }
    }
}

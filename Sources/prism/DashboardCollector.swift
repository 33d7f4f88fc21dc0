import Foundation
import WireProtocol
import ZeroMQ

/// Polls every process's `health` (and a projector's `stats`) over ZeroMQ, each on its own thread,
/// so a process that is down or hung delays only its own readings.
final class DashboardCollector: @unchecked Sendable {
    /// What the last poll of one process found.
    struct Reading: Sendable {
        /// `health`'s status (`serving` for the write node; `live`, `catchingUp`, `failed` … for a
        /// projector), `down` when the process did not answer, `unknown` until the first poll ends.
        var state = "unknown"
        /// The write node's head; a projector's applied position and the head it has seen.
        var position: Int64?
        var head: Int64?
        /// The write node's head, asked right after the projector's position: the two threads'
        /// readings are up to an interval apart, which at 1,000 events/s would be 250 events
        /// "behind" that no one is.
        var writeNodeHead: Int64?
        var eventsApplied: Int64?
        /// Lag p50 and p99 (µs) of the events applied since the previous `lagSerial`.
        var lagP50: Int64?
        var lagP99: Int64?
        /// Counts the lag intervals read, so one interval is charted once.
        var lagSerial = 0
        /// Why the process is down, or its `lastError` / failure.
        var error: String?
        /// The latest position known, kept while the process is down.
        var lastPosition: Int64?
    }

    let servers: [Server]
    private let context: Context
    private let intervalMs: Int
    private let timeoutMs: Int
    private let lagIntervalMs: Int
    private let lock = NSLock()
    private var readings: [Reading]

    /// - Parameters:
    ///   - servers: the write node first, then the projectors.
    ///   - intervalMs: between two polls of one process.
    ///   - timeoutMs: the most one poll waits for a reply before the process counts as down.
    ///   - lagIntervalMs: how often a projector's interval lag histogram is read and restarted.
    init(servers: [Server], context: Context, intervalMs: Int, timeoutMs: Int, lagIntervalMs: Int) {
        self.servers = servers
        self.context = context
        self.intervalMs = intervalMs
        self.timeoutMs = timeoutMs
        self.lagIntervalMs = lagIntervalMs
        readings = Array(repeating: Reading(), count: servers.count)
    }

    /// The latest reading of each server, in `servers`' order.
    var latest: [Reading] { lock.withLock { readings } }

    /// Starts one polling thread per process; they run as long as the dashboard does.
    func start() {
        for index in servers.indices {
            let thread = Thread { [self] in poll(index) }
            thread.name = "dashboard-\(servers[index].name)"
            thread.start()
        }
    }

    private func poll(_ index: Int) {
        // One client (one socket) per thread: ZeroMQ sockets are not thread-safe. After a timeout
        // the client replaces its socket, and a fresh one hears at once that nothing listens.
        let client = servers[index].client(context)
        let writeNode = index > 0 ? servers[0].client(context) : nil
        var lagReadAt: Int64 = 0
        while true {
            let started = monotonicNanoseconds()
            let readLag = index > 0 && started - lagReadAt >= Int64(lagIntervalMs) * 1_000_000
            var reading = lock.withLock { readings[index] }
            do {
                try read(client, into: &reading, writeNode: writeNode, readLag: readLag)
                if readLag { lagReadAt = started }
            } catch {
                reading.state = "down"
                reading.error = "\(error)"
                reading.position = nil
                reading.head = nil
                reading.lagP50 = nil
                reading.lagP99 = nil
            }
            lock.withLock { readings[index] = reading }
            let elapsedMs = Int((monotonicNanoseconds() - started) / 1_000_000)
            if elapsedMs < intervalMs { Thread.sleep(forTimeInterval: Double(intervalMs - elapsedMs) / 1000) }
        }
    }

    /// - Parameter writeNode: nil when `client` is the write node's.
    private func read(_ client: ServerClient, into reading: inout Reading, writeNode: ServerClient?, readLag: Bool) throws {
        let health = try client.requestJSON(["query": "health"], timeout: timeoutMs)
        let result = health["result"]
        reading.state = result?["status"]?.stringValue ?? "?"
        reading.error = result?["lastError"]?.stringValue ?? result?["failure"]?["error"]?.stringValue
            ?? result?["storeError"]?.stringValue ?? result?["reason"]?.stringValue
        reading.position = health["position"]?.intValue
        reading.lastPosition = reading.position ?? reading.lastPosition
        reading.head = writeNode == nil ? reading.position : result?["head"]?.intValue
        guard let writeNode else { return }
        // `reset` restarts the projector's interval histogram: each read covers the time since the last.
        let stats = try client.requestJSON(["query": "stats", "params": ["reset": .bool(readLag)]], timeout: timeoutMs)["result"]
        reading.eventsApplied = stats?["eventsApplied"]?.intValue
        if readLag {
            let interval = stats?["intervalLagUs"]
            let empty = (interval?["count"]?.intValue ?? 0) == 0
            reading.lagP50 = empty ? nil : interval?["p50"]?.intValue
            reading.lagP99 = empty ? nil : interval?["p99"]?.intValue
            reading.lagSerial += 1
        }
        // A short wait: a hung write node is the write node's own row's news, not a reason to slow this one.
        reading.writeNodeHead = (try? writeNode.requestJSON(["query": "health"], timeout: min(timeoutMs, 250)))?["position"]?.intValue
    }
}

import Foundation
import HTTPEndpoint
import WireProtocol
import ZeroMQ

/// `prism dashboard`'s server: the collector polling the processes, the history, and the HTTP
/// endpoint serving the page (`/`), the live updates as server-sent events (`/events`) and the
/// same picture as one JSON document (`/state`).
final class DashboardServer: @unchecked Sendable {
    struct Configuration {
        /// The write node first, then the projectors.
        var servers: [Server]
        /// What the page calls each server: `write-node`, then the projectors' names (`orders`).
        var names: [String]
        var listen: HTTPAddress
        /// Between two polls of a process, and between two updates sent to the browsers.
        var intervalMs = 250
        /// The most one poll waits before the process counts as down.
        var timeoutMs = 1000
        /// How much history the charts keep.
        var windowSeconds = 300
    }

    private let collector: DashboardCollector
    private let intervalMs: Int
    private let lock = NSLock()
    private var history: DashboardHistory
    private var latest: JSONValue = .null
    private var clients: [EventStreamClient] = []
    // Set last in `init` (its routes capture `self`), then never nil.
    private var endpoint: HTTPEndpoint!

    init(_ configuration: Configuration, context: Context) throws {
        collector = DashboardCollector(servers: configuration.servers, context: context, intervalMs: configuration.intervalMs,
                                       timeoutMs: configuration.timeoutMs, lagIntervalMs: 1000)
        intervalMs = configuration.intervalMs
        history = DashboardHistory(names: configuration.names,
                                   windowSeconds: configuration.windowSeconds)
        endpoint = try HTTPEndpoint(address: configuration.listen, routes: [
            "/": .get { HTTPResponse(contentType: "text/html; charset=utf-8", body: Array(DashboardPage.html.utf8)) },
            "/state": .get { [unowned self] in
                HTTPResponse(contentType: "application/json", body: Array(state.jsonString.utf8))
            },
            "/events": .eventStream { [unowned self] client in join(client) },
        ])
    }

    /// Where the page is served (with the port picked when the configuration asked for port 0).
    var address: HTTPAddress { endpoint.address }

    /// Starts polling and publishing; returns at once.
    func start() {
        collector.start()
        let thread = Thread { [self] in publish() }
        thread.name = "dashboard-publisher"
        thread.start()
    }

    // Updates go out at the polling rate: at 250 ms, four a second.
    private func publish() {
        while true {
            let started = monotonicNanoseconds()
            let readings = collector.latest
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            lock.withLock {
                latest = history.record(readings, now: now)
                let text = latest.jsonString
                clients.removeAll { !$0.send(event: "update", data: text) }
            }
            let elapsedMs = Int((monotonicNanoseconds() - started) / 1_000_000)
            if elapsedMs < intervalMs { Thread.sleep(forTimeInterval: Double(intervalMs - elapsedMs) / 1000) }
        }
    }

    // Under the lock that sends updates, so the page sees the history and then every update after it.
    private func join(_ client: EventStreamClient) {
        lock.withLock {
            guard client.send(event: "history", data: history.snapshot.jsonString) else { return }
            if latest != .null, !client.send(event: "update", data: latest.jsonString) { return }
            clients.append(client)
        }
    }

    private var state: JSONValue {
        lock.withLock {
            guard case .object(var members) = history.snapshot else { return .null }
            members["latest"] = latest
            return .object(members)
        }
    }
}

import CoreMetrics
import Foundation
import HTTPEndpoint
import Testing
@testable import Telemetry
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The exporter's text and its `/metrics` route, with metrics made through swift-metrics.
@Suite struct PrometheusExporterTests {
    private func exporter(help: [String: String] = [:]) -> PrometheusExporter {
        PrometheusExporter(address: HTTPAddress(host: "127.0.0.1", port: 0), help: help)
    }

    private func text(_ exporter: PrometheusExporter) -> String {
        String(decoding: exporter.scrape().body, as: UTF8.self)
    }

    @Test func countersAndGaugesCarryTheirHelpAndType() {
        let exporter = exporter(help: ["test_requests_total": "Requests answered."])
        let factory = exporter.metricsFactory
        Counter(label: "test_requests_total", dimensions: [("code", "none")], factory: factory).increment(by: 3)
        Gauge(label: "test_position", factory: factory).record(42)
        let text = text(exporter)
        #expect(text.contains("# HELP test_requests_total Requests answered.\n"))
        #expect(text.contains("# TYPE test_requests_total counter\n"))
        #expect(text.contains("test_requests_total{code=\"none\"} 3\n"))
        #expect(text.contains("# TYPE test_position gauge\n"))
        #expect(text.contains("test_position 42"))
    }

    @Test func aTimerIsAHistogramInSecondsWithCumulativeBuckets() {
        let exporter = exporter(help: ["test_sync_seconds": "Sync time."])
        let timer = Timer(label: "test_sync_seconds", dimensions: [("node", "a\"b")], factory: exporter.metricsFactory)
        timer.recordNanoseconds(80_000)  // 80 µs: in the 0.0001 bucket
        timer.recordNanoseconds(3_000_000)  // 3 ms: in the 0.005 bucket
        timer.recordNanoseconds(60_000_000_000)  // a minute: only in +Inf
        let text = text(exporter)
        #expect(text.contains("# HELP test_sync_seconds Sync time.\n# TYPE test_sync_seconds histogram\n"))
        #expect(text.contains("test_sync_seconds_bucket{node=\"a\\\"b\",le=\"0.00005\"} 0\n"))
        #expect(text.contains("test_sync_seconds_bucket{node=\"a\\\"b\",le=\"0.0001\"} 1\n"))
        #expect(text.contains("test_sync_seconds_bucket{node=\"a\\\"b\",le=\"0.0025\"} 1\n"))
        #expect(text.contains("test_sync_seconds_bucket{node=\"a\\\"b\",le=\"0.005\"} 2\n"))
        #expect(text.contains("test_sync_seconds_bucket{node=\"a\\\"b\",le=\"10\"} 2\n"))
        #expect(text.contains("test_sync_seconds_bucket{node=\"a\\\"b\",le=\"+Inf\"} 3\n"))
        #expect(text.contains("test_sync_seconds_count{node=\"a\\\"b\"} 3\n"))
        #expect(text.contains("test_sync_seconds_sum{node=\"a\\\"b\"} 60.00308\n"))
    }

    @Test func anAggregatingRecorderIsAHistogramOfCounts() {
        let exporter = exporter()
        let recorder = Recorder(label: "test_group_requests", factory: exporter.metricsFactory)
        for size in [1, 3, 3, 5000] { recorder.record(size) }
        let text = text(exporter)
        #expect(text.contains("test_group_requests_bucket{le=\"1\"} 1\n"))
        #expect(text.contains("test_group_requests_bucket{le=\"4\"} 3\n"))
        #expect(text.contains("test_group_requests_bucket{le=\"4096\"} 3\n"))
        #expect(text.contains("test_group_requests_bucket{le=\"10000\"} 4\n"))
        #expect(text.contains("test_group_requests_sum 5007\n"))
    }

    @Test func theSameNameAndLabelsAreOneSeries() {
        let exporter = exporter()
        Timer(label: "test_seconds", factory: exporter.metricsFactory).recordNanoseconds(1)
        Timer(label: "test_seconds", factory: exporter.metricsFactory).recordNanoseconds(1)
        #expect(text(exporter).contains("test_seconds_count 2\n"))
    }

    @Test func servesTheTextFormatAtSlashMetricsAndNothingElse() async throws {
        let exporter = exporter()
        Counter(label: "test_total", factory: exporter.metricsFactory).increment()
        let refreshed = RefreshCount()
        let endpoint = try exporter.serve(logger: .init(label: "test")) { refreshed.add() }
        defer { endpoint.close() }
        let (body, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(endpoint.port)/metrics")!)
        let http = try #require(response as? HTTPURLResponse)
        #expect(http.statusCode == 200)
        #expect(http.value(forHTTPHeaderField: "Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        #expect(String(decoding: body, as: UTF8.self).contains("test_total 1\n"))
        #expect(refreshed.count == 1)
        let (_, missing) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(endpoint.port)/other")!)
        #expect((missing as? HTTPURLResponse)?.statusCode == 404)
    }

    @Test func aTakenPortIsAnErrorNamingTheFlagAndTheAddress() throws {
        let first = try exporter().serve(logger: .init(label: "test"))
        defer { first.close() }
        let taken = PrometheusExporter(address: HTTPAddress(host: "127.0.0.1", port: first.port), help: [:])
        let error = try #require(throws: MetricsEndpointError.self) { try taken.serve(logger: .init(label: "test")) }
        #expect(error.description.hasPrefix("--metrics-endpoint: cannot listen for HTTP on 127.0.0.1:\(first.port): "))
        #expect(error.description.contains("in use"))
    }

    @Test(arguments: [
        ("9101", "127.0.0.1:9101"), ("0.0.0.0:9101", "0.0.0.0:9101"), ("[::1]:9101", "[::1]:9101"),
    ])
    func theFlagTakesAPortOrAnAddress(value: String, address: String) throws {
        let options = try MetricsOptions.parse(["--metrics-endpoint", value])
        #expect(try options.address?.description == address)
    }

    @Test func theFlagIsOffByDefault() throws {
        #expect(try MetricsOptions.parse([]).address == nil)
    }

    @Test(arguments: ["nine", "127.0.0.1:99999", "127.0.0.1", "[::1]9101", ""])
    func aBadValueIsRefusedWithWhatIsWrong(value: String) throws {
        do {
            _ = try MetricsOptions.parse(["--metrics-endpoint", value])
            Issue.record("accepted \(value)")
        } catch {
            let message = MetricsOptions.message(for: error)
            #expect(message.hasPrefix("--metrics-endpoint: invalid HTTP address \"\(value)\": "), "\(message)")
        }
    }
}

private final class RefreshCount: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.withLock { value += 1 } }
    var count: Int { lock.withLock { value } }
}

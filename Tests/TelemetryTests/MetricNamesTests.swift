import CoreMetrics
import Foundation
import HTTPEndpoint
import Testing
@testable import OutboxRelay
@testable import ProjectionRuntime
@testable import Telemetry
@testable import WriteNodeHost

/// Every metric a process exports follows Prometheus' conventions and is in docs/METRICS.md.
@Suite struct MetricNamesTests {
    private let help = WriteNodeMetrics.help.merging(ProjectorMetrics.help) { $1 }.merging(RelayMetrics.help) { $1 }

    /// The families a write node, a projector and the relay export, each with its type.
    private func exportedFamilies() -> [(name: String, type: String)] {
        let exporter = PrometheusExporter(address: HTTPAddress(host: "127.0.0.1", port: 0), help: help)
        let factory = exporter.metricsFactory
        let node = WriteNodeMetrics(factory: factory)
        node.record(RequestOutcomes(succeeded: 1, appended: 1, failed: [.rejected: 1]))
        node.sync.recordNanoseconds(1000)
        let projector = ProjectorMetrics(projector: "orders", factory: factory)
        projector.countQuery("order", reply: ["ok": true])
        projector.updateStore(["store": "postgres", "connected": true], gatekeeper: nil)
        RelayMetrics(factory: factory).refresh(RelayStatus.Counts(
            relayed: 1, deadLettered: 0, batches: 1, waiting: 3, slotRetainedBytes: 4096, position: 1, postgresConnected: true, writeNodeConnected: true, holdsLock: true),
            gatekeeper: nil)
        let text = String(decoding: exporter.scrape().body, as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 4, words[0] == "#", words[1] == "TYPE" else { return nil }
            return (String(words[2]), String(words[3]))
        }
    }

    @Test func namesFollowPrometheusConventions() {
        let families = exportedFamilies()
        #expect(families.count >= 40)
        for (name, type) in families {
            #expect(PrometheusText.isValidName(name), "\(name)")
            #expect(name.hasPrefix("prism_"), "\(name)")
            #expect(name.hasSuffix("_total") == (type == "counter"), "\(name) is a \(type)")
            // Base units: seconds, never milliseconds or microseconds.
            #expect(!name.contains("_ms") && !name.contains("_us") && !name.contains("millis"), "\(name)")
        }
    }

    @Test func everyMetricHasHelpAndIsDocumented() throws {
        let docs = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../../docs/METRICS.md")
        let documented = try String(contentsOf: docs, encoding: .utf8)
        for (name, _) in exportedFamilies() {
            #expect(help[name] != nil, "\(name) has no help text")
        }
        for name in help.keys {
            #expect(documented.contains("`\(name)`"), "\(name) is not in docs/METRICS.md")
        }
    }
}

import CoreMetrics
import HTTPEndpoint
import Logging
import Prometheus

/// A process's metrics in the Prometheus text format, served at `/metrics` (`--metrics-endpoint`).
public final class PrometheusExporter: Sendable {
    /// Where `serve` listens (its port 0 stays 0 here: `HTTPEndpoint.port` has the bound one).
    public let address: HTTPAddress
    let factory: PrismMetricsFactory

    public init(address: HTTPAddress, help: [String: String]) {
        self.address = address
        factory = PrismMetricsFactory(registry: PrometheusCollectorRegistry(), help: help)
    }

    /// The factory a metric made outside `MetricsSystem` names (tests make theirs this way).
    public var metricsFactory: any MetricsFactory { factory }

    /// Makes this exporter the process's swift-metrics backend (once per process).
    func bootstrap() {
        MetricsSystem.bootstrap(factory)
    }

    /// Every metric now, in the text format.
    ///
    /// - Parameter beforeScrape: brings the values read at scrape time up to date first (positions
    ///   the process keeps elsewhere, refusals counted by the security layer).
    public func scrape(beforeScrape: () -> Void = {}) -> HTTPResponse {
        beforeScrape()
        return HTTPResponse(contentType: PrometheusText.contentType, body: factory.exposition())
    }

    /// Listens at `address` and answers `GET /metrics` on a thread of its own.
    ///
    /// - Throws: `HTTPEndpointError` naming the address when it cannot be bound (taken, not local).
    public func serve(logger: Logger, beforeScrape: @escaping @Sendable () -> Void = {}) throws -> HTTPEndpoint {
        let endpoint: HTTPEndpoint
        do {
            endpoint = try HTTPEndpoint(address: address, routes: ["/metrics": .get { [self] in scrape(beforeScrape: beforeScrape) }])
        } catch {
            throw MetricsEndpointError(description: "--metrics-endpoint: \(error)")
        }
        let url = "http://\(endpoint.address)/metrics"
        if address.isLoopback {
            logger.info("metrics served", metadata: ["metrics.url": "\(url)"])
        } else {
            logger.warning("metrics served beyond this machine, unauthenticated: anyone who reaches the address reads them",
                           metadata: ["metrics.url": "\(url)"])
        }
        return endpoint
    }
}

/// Why the metrics endpoint could not start.
public struct MetricsEndpointError: Error, CustomStringConvertible {
    public let description: String
}

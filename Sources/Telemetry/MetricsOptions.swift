import ArgumentParser
import HTTPEndpoint

/// `--metrics-endpoint`, which every server process takes.
public struct MetricsOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Serve Prometheus metrics at http://<address>/metrics: a port alone listens on 127.0.0.1; name another address "
            + "(0.0.0.0:9101, [::1]:9101) to let other machines scrape — anyone who reaches it reads them, unauthenticated. Off by default.",
        valueName: "address"))
    public var metricsEndpoint: String?

    public init() {}

    public func validate() throws {
        _ = try address
    }

    /// The address to serve on, or nil when metrics are off.
    ///
    /// - Throws: `ValidationError` naming the flag and what is wrong with its value.
    public var address: HTTPAddress? {
        get throws {
            guard let metricsEndpoint else { return nil }
            do {
                return try HTTPAddress(parsing: metricsEndpoint)
            } catch {
                throw ValidationError("--metrics-endpoint: \(error)")
            }
        }
    }

    /// With `--metrics-endpoint`: bootstraps swift-metrics with Prism's Prometheus backend, so every
    /// metric created from now on is exported. Call it before building the process's parts, then
    /// `serve` them.
    ///
    /// - Parameter help: `# HELP` text per metric name (the libraries' `metricHelp` tables).
    /// - Returns: nil without `--metrics-endpoint` (every metric is then swift-metrics' no-op).
    public func bootstrap(help: [String: String]) throws -> PrometheusExporter? {
        guard let address = try address else { return nil }
        let exporter = PrometheusExporter(address: address, help: help)
        exporter.bootstrap()
        return exporter
    }
}

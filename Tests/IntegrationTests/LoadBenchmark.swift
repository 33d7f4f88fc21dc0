import Foundation
import Testing

/// Achieved command rates and append latency of `prism load` against a write node and a status
/// projector: figures printed, nothing asserted about speed (a busy machine is not a failure).
/// Enabled with `PRISM_BENCHMARK=1`; in release: `PRISM_BENCHMARK=1 swift test -c release --filter LoadBenchmark`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["PRISM_BENCHMARK"] != nil))
struct LoadBenchmark {
    @Test(arguments: [500, 2000])
    func achievedRate(rate: Int) throws {
        let system = try SystemHarness(projectors: ["status"])
        defer { system.close() }
        let report = try LoadTests.load(system, rate: rate, duration: 5, users: 200, timeout: 120)
        let latency = report["appendLatencyUs"]
        print("prism load at \(rate)/s: achieved \(report["achievedRate"]?.jsonString ?? "?")/s, "
              + "append p50 \(latency?["p50"]?.jsonString ?? "?") µs p99 \(latency?["p99"]?.jsonString ?? "?") µs, "
              + "status visible p99 \(report["visibilityUs"]?["status"]?["p99"]?.jsonString ?? "?") µs")
        #expect(report["errors"] == [:])
    }
}

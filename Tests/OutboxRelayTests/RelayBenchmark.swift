import Foundation
import PostgresStore
import Testing
import TestSupport
import WireProtocol

/// Rows per second the relay moves from a full outbox into the log, and the lag it reports.
/// Enabled with `PRISM_BENCHMARK=1`; in release: `PRISM_BENCHMARK=1 swift test -c release --filter RelayBenchmark`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["PRISM_BENCHMARK"] != nil))
struct RelayBenchmark {
    /// - Parameters:
    ///   - perConnection: the write node's `--max-batch-per-connection`: how many of the relay's
    ///     pipelined appends one group commit (one fsync) may take.
    ///   - rowsPerRun: consecutive rows of one stream (1: every row its own append; 50: an append
    ///     carries 50 events).
    @Test(arguments: [(100, 32, 1), (500, 32, 1), (500, 1000, 1), (500, 32, 50)])
    func drainingABacklog(batchSize: Int, perConnection: Int, rowsPerRun: Int) throws {
        let rows = 20_000
        let system = try RelaySystem(writeNodeArguments: ["--max-batch-per-connection", String(perConnection)])
        try system.createOutbox()
        for chunk in 0..<(rows / 500) {
            let data = #"{"orderId": "o-1", "amountCents": 4999, "description": "red shoes", "status": "payment_pending", "userId": "u1"}"#
            try system.insert((0..<500).map { ("order-\(((chunk * 500 + $0) / rowsPerRun) % 1000)", "OrderCreated", data) })
        }
        let started = Date()
        let relay = try system.startRelay(["--batch-size", String(batchSize)])
        let drained = try waitUntil(timeout: .seconds(300), interval: .milliseconds(20)) { try system.outboxCount() == 0 }
        let seconds = Date().timeIntervalSince(started)
        #expect(drained)
        let stats = try relay.query("stats")["result"]
        print("outbox relay, batch \(batchSize), runs of \(rowsPerRun), write node --max-batch-per-connection \(perConnection): \(rows) rows in \(String(format: "%.2f", seconds)) s = \(Int(Double(rows) / seconds)) rows/s "
              + "(\(stats?["batches"]?.intValue ?? 0) batches, \(stats?["appends"]?.intValue ?? 0) appends)")
    }
}

import EventStore
import Foundation
import Testing

/// Prints append throughput; a benchmark, not a test: it asserts nothing about time.
/// Run with `PRISM_BENCHMARK=1 swift test -c release --filter AppendBenchmark`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["PRISM_BENCHMARK"] != nil))
struct AppendBenchmark {
    @Test(arguments: [(batches: 2_000, requestsPerBatch: 16), (batches: 200, requestsPerBatch: 256)])
    func groupCommitThroughput(batches: Int, requestsPerBatch: Int) throws {
        try withStore { store, _ in
            let payload = Array(String(repeating: "x", count: 200).utf8)
            let clock = ContinuousClock()
            var appended = 0
            let cpuStart = Self.processCPUSeconds()
            let elapsed = try clock.measure {
                for batch in 0..<batches {
                    let requests = (0..<requestsPerBatch).map { index in
                        AppendRequest(
                            stream: "order-\((batch * requestsPerBatch + index) % 10_000)",
                            expectedVersion: .any,
                            events: [NewEvent(type: "OrderCreated", data: payload)]
                        )
                    }
                    appended += try store.append(requests).count
                }
            }
            let cpu = Self.processCPUSeconds() - cpuStart
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("append: \(batches) batches × \(requestsPerBatch) single-event requests = \(appended) events in \(String(format: "%.3f", seconds)) s → \(Int(Double(appended) / seconds)) events/s, \(String(format: "%.2f", seconds * 1e6 / Double(appended))) µs/event, \(String(format: "%.2f", seconds * 1e3 / Double(batches))) ms/batch; CPU \(String(format: "%.2f", cpu * 1e6 / Double(appended))) µs/event (the rest is waiting for fsync)")
        }
    }

    /// CPU time of this process (all threads), in seconds.
    static func processCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

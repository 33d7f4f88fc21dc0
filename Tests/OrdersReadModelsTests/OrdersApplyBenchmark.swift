import EventStore
import Foundation
import OrdersReadModels
import ProjectionRuntime
import Testing

extension Tag {
    /// Timed runs that print figures; enabled with `PRISM_BENCHMARK=1`.
    @Tag static var ordersBenchmark: Self
}

/// Apply rates of the SQL read models over a synthetic log, printed rather than asserted
/// (run in release: `PRISM_BENCHMARK=1 swift test -c release --filter OrdersApplyBenchmark`).
@Suite(.tags(.ordersBenchmark), .enabled(if: ProcessInfo.processInfo.environment["PRISM_BENCHMARK"] != nil))
struct OrdersApplyBenchmark {
    static let eventCount = 200_000
    static let batchSize = 1000

    /// 10,000 users, then orders whose lives (pay, ship, cancel) and users' moves interleave,
    /// 200,000 events in all.
    static func syntheticLog() -> OrdersEventLog {
        var log = OrdersEventLog()
        let states = ["California", "Texas", "New York", "Oregon", "Ohio", "Utah", "Maine", "Iowa"]
        let users = 10_000
        for user in 0..<users { log.register("u\(user)", state: states[user % states.count]) }
        var order = 0
        var random = SystemRandomNumberGenerator()
        while log.events.count < eventCount {
            let user = Int.random(in: 0..<users, using: &random)
            let id = "o\(order)"
            order += 1
            log.place(id, user: "u\(user)", amountCents: Int64.random(in: 100...100_000, using: &random),
                      "order \(order) of \(["red", "blue", "green"][order % 3]) running shoes and wool socks")
            switch order % 10 {
            case 0..<5:
                log.pay(id, user: "u\(user)")
                if order % 2 == 0 { log.ship(id, user: "u\(user)") }
            case 5: log.cancel(id, user: "u\(user)")
            case 6: log.move("u\(user)", from: "?", to: states[order % states.count])
            default: break
            }
        }
        return log
    }

    func measure(_ name: String, _ events: ArraySlice<RecordedEvent>, _ model: any Projection) throws {
        let delivered = events.filter { model.category == nil || $0.category == model.category }
        let clock = ContinuousClock()
        let cpuStart = Self.threadCPUSeconds()
        let elapsed = try clock.measure {
            var start = delivered.startIndex
            while start < delivered.endIndex {
                let end = min(start + Self.batchSize, delivered.endIndex)
                try model.apply(Array(delivered[start..<end]), through: delivered[end - 1].position)
                start = end
            }
        }
        let cpu = Self.threadCPUSeconds() - cpuStart
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // CPU time too: on a shared machine the wall clock also counts other processes' turns.
        print("""
            \(name): \(delivered.count) events (batches of \(Self.batchSize)) in \(String(format: "%.3f", seconds)) s wall \
            = \(Int(Double(delivered.count) / seconds)) events/s; \(String(format: "%.3f", cpu)) s CPU \
            = \(Int(Double(delivered.count) / cpu)) events/CPU-s
            """)
    }

    /// CPU time of the calling thread (user + system), in seconds.
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    @Test func applyRates() throws {
        let events = Self.syntheticLog().events.prefix(Self.eventCount)
        try OrdersTestSupport.withModel(OrdersProjection.init(directory:)) { (model, _) throws in
            try measure("OrdersProjection", events, model)
        }
        try OrdersTestSupport.withModel(SearchProjection.init(directory:)) { (model, _) throws in
            try measure("SearchProjection", events, model)
        }
    }
}

import EventStore
import Foundation
import OrdersReadModels
import ProjectionRuntime
import TestSupport
import Testing

/// Apply alone — no sockets, no feed — for each of the four read models, over a log shaped like
/// `scripts/bench-projectors`' (10,000 users; orders created, half paid, most of those shipped;
/// then address changes, each user's ~N/20 orders behind them). Prints events per CPU-second
/// rather than asserting a rate. Run in release (`-enable-testing`: another test target uses
/// `@testable`):
///
///     PRISM_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing --filter ProjectionApplyBenchmark
///
/// `PRISM_BENCHMARK_EVENTS` sets the log's length (default 400,000), `PRISM_BENCHMARK_MODELS`
/// a comma-separated subset (`orders,search,status,history,orders-postgres,search-postgres,
/// history-postgres,status-redis`), e.g. to profile one model. The `-postgres` and `-redis` models
/// run against a throwaway server (`scripts/store-server`) started for them, the client's and the
/// server's work both in the wall-clock figure (the CPU figure is the client's alone).
@Suite(.serialized, .enabled(if: historyStatusBenchmarksEnabled))
struct ProjectionApplyBenchmark {
    static let environment = ProcessInfo.processInfo.environment
    static let eventCount = environment["PRISM_BENCHMARK_EVENTS"].flatMap { Int($0) } ?? 400_000
    static let batchSize = 1000
    static let log = OrdersEventLog.benchProjectors(events: eventCount)

    static func selected(_ name: String) -> Bool {
        guard let models = environment["PRISM_BENCHMARK_MODELS"] else { return true }
        return models.split(separator: ",").contains { $0 == name }
    }

    /// Applies the log to `projection` in batches of `batchSize`, as the runtime does (one
    /// transaction each, only the projection's category), and prints the rates.
    static func measure<P: Projection>(_ name: String, _ make: (String) throws -> P) throws {
        guard selected(name) else { return }
        try OrdersTestSupport.withModel(make) { projection, _ in
            let delivered = log.events.filter { projection.category == nil || $0.category == projection.category }
            let seconds = try historyStatusSeconds {
                var start = 0
                while start < delivered.count {
                    let end = min(start + batchSize, delivered.count)
                    try projection.apply(Array(delivered[start..<end]), through: delivered[end - 1].position)
                    start = end
                }
                try projection.reachedHead()  // what a model built from empty defers is part of the cost
            }
            print("\(name): \(historyStatusRate(delivered.count, seconds)) (batches of \(batchSize))")
            if let statistics = projection.statistics { print("\(name) read model: \(statistics.jsonString)") }
        }
    }

    @Test func applyRates() throws {
        print("ProjectionApplyBenchmark: \(Self.log.events.count) events")
        try Self.measure("orders", OrdersProjection.init(directory:))
        try Self.measure("search", SearchProjection.init(directory:))
        try Self.measure("status") { try StatusProjection(directory: $0) }
        if Self.selected("status-redis") {
            // The same model in a redis-server of its own (AOF, appendfsync everysec) on loopback:
            // the wall figure is the one to compare, since the server does most of the work.
            try withTemporaryDirectory("prism-redis") { directory in
                let server = try RedisServer(directory: directory)
                try Self.measure("status-redis") { try RedisStatusProjection(settings: StoreSettings(kind: .redis, redisURL: server.url), directory: $0 + "/generation-1") }
            }
        }
        try Self.measure("history", HistoryProjection.init(directory:))
        guard ["orders-postgres", "search-postgres", "history-postgres"].contains(where: Self.selected) else { return }
        let store = try PostgresTestStore()
        try Self.measure("orders-postgres") { try PostgresOrdersProjection(settings: store.settings(), directory: $0 + "/generation-1") }
        try Self.measure("search-postgres") { try PostgresSearchProjection(settings: store.settings(), directory: $0 + "/generation-1") }
        try Self.measure("history-postgres") { try PostgresHistoryProjection(settings: store.settings(), directory: $0 + "/generation-1") }
    }
}

import OrdersReadModels
import ProjectionRuntime
import TestSupport

/// PostgreSQL copies of read models for a test, on one throwaway server of its own.
struct PostgresTestStore {
    let server: PostgresServer

    init() throws { server = try PostgresServer() }

    /// Settings naming the copies `<prefix>_<projector>_g<n>`; a prefix per copy keeps a test's copies apart.
    func settings(prefix: String = StoreSettings.defaultPrefix) -> StoreSettings {
        StoreSettings(kind: .postgres, postgresURL: server.url(), prefix: prefix)
    }

    /// A copy's directory as the runtime names it: only its name matters, it holds nothing.
    static let directory = "generation-1"
}

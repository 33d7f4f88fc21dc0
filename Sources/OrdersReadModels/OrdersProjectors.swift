import ProjectionRuntime
import WireProtocol

/// The orders domain's four projectors: the one table the executables, their ports and their
/// read models come from.
public enum OrdersProjectors {
    public static let orders = ProjectorDefinition(
        name: "orders", summary: "Relational orders joined with the user's state (SQLite or PostgreSQL).",
        queryPort: DefaultEndpoints.ordersQueryPort,
        stores: [
            .embedded: { try OrdersProjection(directory: $1) },
            .postgres: { try PostgresOrdersProjection(settings: $0, directory: $1) },
        ])
    public static let search = ProjectorDefinition(
        name: "search", summary: "Full-text search over order descriptions (SQLite FTS5, or PostgreSQL full text).",
        queryPort: DefaultEndpoints.searchQueryPort,
        stores: [
            .embedded: { try SearchProjection(directory: $1) },
            .postgres: { try PostgresSearchProjection(settings: $0, directory: $1) },
        ])
    public static let status = ProjectorDefinition(
        name: "status", summary: "Order status and a user's orders (in memory with a snapshot, or in Redis).",
        queryPort: DefaultEndpoints.statusQueryPort,
        stores: [.embedded: { try StatusProjection(directory: $1) }, .redis: { try RedisStatusProjection(settings: $0, directory: $1) }])
    public static let history = ProjectorDefinition(
        name: "history", summary: "Orders per user per month (SQLite, or PostgreSQL).",
        queryPort: DefaultEndpoints.historyQueryPort,
        stores: [
            .embedded: { try HistoryProjection(directory: $1) },
            .postgres: { try PostgresHistoryProjection(settings: $0, directory: $1) },
        ])

    public static let all = [orders, search, status, history]
}

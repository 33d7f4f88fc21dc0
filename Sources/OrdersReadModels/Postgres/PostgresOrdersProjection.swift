import EventStore
import PostgresNIO
import PostgresStore
import ProjectionRuntime
import WireProtocol

/// The orders read model in PostgreSQL (`--store postgres`): the tables, answers and digest of
/// `OrdersProjection`, in schema `<prefix>_orders_g<n>` (`PostgresReadModel` owns it).
///
/// A batch goes to the server as one `jsonb` array: Swift reads each event's fields with the
/// embedded model's reader (`OrdersEventFields`, so the same data is malformed for both) and
/// writes only those of the right type; the PL/pgSQL function `prism_apply_events`
/// (`PostgresOrdersProjection+SQL.swift`) then applies them as `OrdersProjection.apply` does,
/// skipping an event that lacks a field it needs.
///
/// Text keys are `COLLATE "C"`, so ties and digests order bytewise as in SQLite. PostgreSQL
/// text cannot hold a NUL character: an event with one in a field the model keeps fails with a
/// `PostgresQueryError`, where the embedded model stores it.
public final class PostgresOrdersProjection: PostgresProjection {
    public let category: String? = nil
    public var queryNames: [String] { OrdersQueryRules.queryNames }

    public let model: PostgresReadModel

    /// Names the copy in `directory` (`generation-<n>`) as schema `<prefix>_orders_g<n>`; connects
    /// on the first call.
    ///
    /// - Throws: `PostgresURLError` or `ProjectorError` for a missing or malformed URL or directory name.
    public init(settings: StoreSettings, directory: String) throws {
        model = try PostgresReadModel(settings: settings, projector: "orders", directory: directory, layout: Self.layout)
    }

    /// Writes what `prism_apply_events` reads of one event: its type and time, and each field the
    /// model uses that has the type it needs. Events of other types are left out.
    /// The types the model applies besides the status changes.
    private static let otherTypes: Set<String> = ["UserRegistered", "UserAddressChanged", "OrderCreated"]
    /// The text fields the function reads, and their names in the batch.
    private static let textFields: [(OrdersEventFields.Key, StaticString)] = [
        (.userId, "user_id"), (.name, "name"), (.state, "state"), (.orderId, "order_id"), (.description, "description"),
    ]

    public static func write(_ event: RecordedEvent, into batch: inout PostgresEventBatch) {
        let status = OrdersEventFields.status(after: event.type)
        guard status != nil || otherTypes.contains(event.type), let data = OrdersEventFields(event) else { return }
        batch.append { object in
            object.string("type", event.type)
            object.int("recorded_at", event.recordedAt)
            for (key, name) in textFields {
                if let text = data.string(key) { object.string(name, text) }
            }
            if let amountCents = data.int(.amountCents) { object.int("amount_cents", amountCents) }
            if let status { object.string("status", status) }
        }
    }

    /// The embedded model's digest queries over the same tables: equal models digest alike.
    public func digest() throws -> String { try model.digest(OrdersProjection.digestQueries) }
}

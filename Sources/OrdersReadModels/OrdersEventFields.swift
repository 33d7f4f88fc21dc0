import EventStore
import WireProtocol

/// The top-level fields of an orders-domain event's JSON data, read without the write-side
/// `OrdersDomain` module so the read models depend only on the documented event format.
struct OrdersEventFields {
    private let fields: [String: JSONValue]

    /// Nil when the data is not a JSON object; the projections skip such events rather than
    /// stall on them, which keeps them a pure function of the log.
    init?(_ event: RecordedEvent) {
        guard case .object(let fields)? = try? JSONParser.parse(event.data) else { return nil }
        self.fields = fields
    }

    func string(_ key: String) -> String? { fields[key]?.stringValue }

    func int(_ key: String) -> Int64? { fields[key]?.intValue }

    /// The order status an order event's type implies (the data's `status` repeats it), or nil
    /// for other types.
    static func status(after type: String) -> String? {
        StatusOrderState(eventType: type)?.name
    }
}

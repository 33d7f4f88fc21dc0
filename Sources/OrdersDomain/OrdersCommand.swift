import EventModel
import WireProtocol

/// A command of the orders domain, parsed and validated from its wire form.
///
/// Validation here covers shape only (types, lengths, ranges); whether the command is
/// allowed given the current state is `OrdersDomain.decide`'s business.
public enum OrdersCommand: Sendable, Equatable {
    case registerUser(userId: String, name: String, state: String)
    case changeUserAddress(userId: String, state: String)
    case placeOrder(orderId: String, userId: String, amountCents: Int64, description: String)
    case confirmPayment(orderId: String)
    case shipOrder(orderId: String)
    case cancelOrder(orderId: String, reason: String)

    /// The command names, in the order they are documented.
    public static let names = [
        "RegisterUser", "ChangeUserAddress", "PlaceOrder", "ConfirmPayment", "ShipOrder", "CancelOrder",
    ]

    /// Length caps in UTF-8 bytes.
    public static let maxNameBytes = 200
    public static let maxStateBytes = 100
    public static let maxDescriptionBytes = 2000
    public static let maxReasonBytes = 500
    /// The largest amount accepted: ten billion dollars, in cents.
    public static let maxAmountCents: Int64 = 1_000_000_000_000

    /// Parses a command.
    ///
    /// - Throws: `.unknownCommand` for a name not in `names`; `.invalidArgument` naming the
    ///   field for data that is not an object or a field that is missing, mistyped or out of range.
    public init(_ command: Command) throws(DecisionError) {
        let parsed: OrdersCommand?
        do {
            parsed = try Self.parse(command)
        } catch {
            // `FieldReader` reports bad data, and only that, as `InvalidArgument`.
            throw DecisionError(.invalidArgument, error.message)
        }
        guard let parsed else {
            throw DecisionError(
                .unknownCommand, "unknown command '\(Self.shortened(command.name))' (known: \(Self.names.joined(separator: ", ")))")
        }
        self = parsed
    }

    /// The command read from its data with `FieldReader`, or nil for a name not in `names`.
    private static func parse(_ command: Command) throws(WireError) -> OrdersCommand? {
        switch command.name {
        case "RegisterUser":
            let data = try FieldReader(command.data)
            return .registerUser(
                userId: try data.id("userId"),
                name: try data.text("name", maxBytes: Self.maxNameBytes),
                state: try data.text("state", maxBytes: Self.maxStateBytes))
        case "ChangeUserAddress":
            let data = try FieldReader(command.data)
            return .changeUserAddress(
                userId: try data.id("userId"),
                state: try data.text("state", maxBytes: Self.maxStateBytes))
        case "PlaceOrder":
            let data = try FieldReader(command.data)
            return .placeOrder(
                orderId: try data.id("orderId"),
                userId: try data.id("userId"),
                amountCents: try data.int("amountCents", in: 1...Self.maxAmountCents),
                description: try data.text("description", maxBytes: Self.maxDescriptionBytes))
        case "ConfirmPayment":
            return .confirmPayment(orderId: try FieldReader(command.data).id("orderId"))
        case "ShipOrder":
            return .shipOrder(orderId: try FieldReader(command.data).id("orderId"))
        case "CancelOrder":
            let data = try FieldReader(command.data)
            // A reason is optional: cancelling is allowed without one, and the event then carries "".
            return .cancelOrder(
                orderId: try data.id("orderId"),
                reason: try data.optionalText("reason", maxBytes: Self.maxReasonBytes, allowEmpty: true, default: ""))
        default:
            return nil
        }
    }

    /// The name as sent, cut to 64 characters so a garbage name cannot bloat the reply.
    private static func shortened(_ name: String) -> String {
        name.count <= 64 ? name : name.prefix(64) + "…"
    }
}

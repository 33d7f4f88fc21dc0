import WireProtocol

/// Reads and validates a query's `params` for the orders and search read models.
///
/// Wraps `FieldReader` (path `params`) so every failure is an `.invalidArgument` naming the
/// parameter, and adds the optional integers and the order-status enumeration queries need.
/// An absent `params` (JSON `null`) reads as `{}`, so parameterless queries need not send one.
struct OrdersQueryReader {
    /// The order statuses, in lifecycle order.
    static let statuses = StatusOrderState.allCases.map(\.name)

    /// Longest free-text filter value (`userState`), in UTF-8 bytes.
    static let maxFilterBytes = 200

    let fields: FieldReader

    /// - Throws: `.invalidArgument` "params must be an object, got an array" when it is neither an object nor null.
    init(_ params: JSONValue) throws(WireError) {
        fields = try FieldReader(params == .null ? .object([:]) : params, path: "params")
    }

    /// An integer within `range`, or `defaultValue` when the parameter is absent.
    ///
    /// - Throws: `.invalidArgument` when it is present but not an integer (`null` included) or out of range.
    func int(_ key: String, in range: ClosedRange<Int64>, default defaultValue: Int64) throws(WireError) -> Int64 {
        try fields.int(key, in: range, default: defaultValue)
    }

    /// An order status, one of `statuses`.
    ///
    /// - Throws: `.invalidArgument` when it is missing, not a string, or not a status.
    func status(_ key: String) throws(WireError) -> String {
        try checkStatus(key, try fields.string(key))
    }

    /// An order status, or nil when the parameter is absent.
    func optionalStatus(_ key: String) throws(WireError) -> String? {
        guard let text = try fields.optionalString(key) else { return nil }
        return try checkStatus(key, text)
    }

    /// A non-empty free-text filter of at most `maxFilterBytes`, or nil when absent.
    func optionalFilter(_ key: String) throws(WireError) -> String? {
        guard fields.fields[key] != nil else { return nil }
        return try fields.text(key, maxBytes: Self.maxFilterBytes)
    }

    /// One of `allowed`, or `allowed[0]` when the parameter is absent.
    func choice(_ key: String, _ allowed: [String]) throws(WireError) -> String {
        guard let text = try fields.optionalString(key) else { return allowed[0] }
        guard allowed.contains(text) else {
            throw WireError(.invalidArgument, "params.\(key) must be one of \(allowed.joined(separator: ", ")), got '\(text)'")
        }
        return text
    }

    private func checkStatus(_ key: String, _ text: String) throws(WireError) -> String {
        guard Self.statuses.contains(text) else {
            throw WireError(
                .invalidArgument,
                "params.\(key) must be one of \(Self.statuses.joined(separator: ", ")), got '\(Self.clip(text))'")
        }
        return text
    }

    /// The first 64 characters of a client's value, so an error message stays short.
    static func clip(_ text: String) -> String {
        text.count <= 64 ? text : String(text.prefix(64)) + "…"
    }
}

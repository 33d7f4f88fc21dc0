import TestSupport
import OrdersDomain
import Testing
import WireProtocol

@Suite struct ValidationTests {
    /// Valid data for each command, to break one field at a time.
    static let valid: [String: [String: JSONValue]] = [
        "RegisterUser": ["userId": "u1", "name": "Ada", "state": "California"],
        "ChangeUserAddress": ["userId": "u1", "state": "Oregon"],
        "PlaceOrder": ["orderId": "o-1", "userId": "u1", "amountCents": 4999, "description": "red shoes"],
        "ConfirmPayment": ["orderId": "o-1"],
        "ShipOrder": ["orderId": "o-1"],
        "CancelOrder": ["orderId": "o-1", "reason": "too slow"],
    ]

    /// The error of `command` with `field` set to `value` (nil removes it), decided on an empty store.
    func error(_ command: String, _ field: String, _ value: JSONValue?) -> WireError? {
        var data = Self.valid[command]!
        data[field] = value
        return wireError { try InMemoryStreams().decide(command, .object(data)) }
    }

    static let requiredFields: [(String, String)] = [
        ("RegisterUser", "userId"), ("RegisterUser", "name"), ("RegisterUser", "state"),
        ("ChangeUserAddress", "userId"), ("ChangeUserAddress", "state"),
        ("PlaceOrder", "orderId"), ("PlaceOrder", "userId"), ("PlaceOrder", "amountCents"), ("PlaceOrder", "description"),
        ("ConfirmPayment", "orderId"), ("ShipOrder", "orderId"), ("CancelOrder", "orderId"),
    ]

    @Test(arguments: requiredFields)
    func aMissingFieldIsNamed(command: String, field: String) {
        #expect(error(command, field, nil) == WireError(.invalidArgument, "data.\(field) is missing"))
    }

    @Test(arguments: requiredFields.filter { $0.1 != "amountCents" } + [("CancelOrder", "reason")])
    func aStringFieldOfAnotherTypeIsNamedWithTheTypeGot(command: String, field: String) {
        #expect(error(command, field, 42) == WireError(.invalidArgument, "data.\(field) must be a string, got an integer"))
        #expect(error(command, field, nil as JSONValue) == WireError(.invalidArgument, "data.\(field) must be a string, got null"))
        #expect(error(command, field, ["a"]) == WireError(.invalidArgument, "data.\(field) must be a string, got an array"))
    }

    @Test(arguments: [
        (JSONValue.string("4999"), "data.amountCents must be an integer, got a string"),
        (.double(49.99), "data.amountCents must be an integer, got a number (49.99)"),
        (.double(5.0), "data.amountCents must be an integer, got a number (5.0)"),
        (.bool(true), "data.amountCents must be an integer, got a boolean"),
        (.null, "data.amountCents must be an integer, got null"),
        (.int(0), "data.amountCents must be greater than 0, got 0"),
        (.int(-5), "data.amountCents must be greater than 0, got -5"),
        (.int(1_000_000_000_001), "data.amountCents must be at most 1000000000000, got 1000000000001"),
        (.int(Int64.max), "data.amountCents must be at most 1000000000000, got 9223372036854775807"),
    ])
    func aBadAmountIsRejected(value: JSONValue, message: String) {
        #expect(error("PlaceOrder", "amountCents", value) == WireError(.invalidArgument, message))
    }

    @Test(arguments: [Int64(1), 1_000_000_000_000])
    func amountsAtTheLimitsAreAccepted(amount: Int64) throws {
        var data = Self.valid["PlaceOrder"]!
        data["amountCents"] = .int(amount)
        let requests = try InMemoryStreams.withUser().decide("PlaceOrder", .object(data))
        #expect(try eventData(requests)["amountCents"] == .int(amount))
    }

    static let idFields: [(String, String)] = requiredFields.filter { $0.1.hasSuffix("Id") }

    @Test(arguments: idFields)
    func badIdsAreRejectedWithTheirOwnMessages(command: String, field: String) {
        let path = "data.\(field)"
        let allowed = "which is not allowed in an id (allowed: A-Z a-z 0-9 . _ : -)"
        #expect(error(command, field, "") == WireError(.invalidArgument, "\(path) is empty"))
        #expect(
            error(command, field, .string(String(repeating: "a", count: 65)))
                == WireError(.invalidArgument, "\(path) is 65 bytes, more than the 64 allowed"))
        #expect(error(command, field, "u 1") == WireError(.invalidArgument, "\(path) contains ' ' (U+0020), \(allowed)"))
        #expect(error(command, field, "a/b") == WireError(.invalidArgument, "\(path) contains '/' (U+002F), \(allowed)"))
        #expect(error(command, field, "jos\u{E9}") == WireError(.invalidArgument, "\(path) contains 'é' (U+00E9), \(allowed)"))
        #expect(error(command, field, "a\nb") == WireError(.invalidArgument, "\(path) contains U+000A, \(allowed)"))
    }

    @Test(arguments: ["o-123", "A.b_c:d-9", "-", String(repeating: "z", count: 64)])
    func wellFormedIdsAreAccepted(id: String) throws {
        let requests = try InMemoryStreams().decide("RegisterUser", ["userId": .string(id), "name": "Ada", "state": "Utah"])
        #expect(requests[0].stream == "user-" + id)
    }

    @Test(arguments: [
        ("RegisterUser", "name", 200), ("RegisterUser", "state", 100), ("ChangeUserAddress", "state", 100),
        ("PlaceOrder", "description", 2000), ("CancelOrder", "reason", 500),
    ])
    func textLongerThanItsCapIsRejected(command: String, field: String, cap: Int) {
        // 'é' is two bytes: caps count UTF-8 bytes, not characters.
        let tooLong = String(repeating: "é", count: cap / 2) + "x"
        #expect(
            error(command, field, .string(tooLong))
                == WireError(.invalidArgument, "data.\(field) is \(cap + 1) bytes, more than the \(cap) allowed"))
        // Exactly at the cap passes validation (it may still meet a domain rule on the empty store).
        #expect(error(command, field, .string(String(repeating: "é", count: cap / 2)))?.code != .invalidArgument)
    }

    @Test(arguments: [
        ("RegisterUser", "name"), ("RegisterUser", "state"), ("ChangeUserAddress", "state"), ("PlaceOrder", "description"),
    ])
    func emptyOrBlankTextIsRejected(command: String, field: String) {
        #expect(error(command, field, "") == WireError(.invalidArgument, "data.\(field) is empty"))
        #expect(error(command, field, " \t\n") == WireError(.invalidArgument, "data.\(field) is only white space"))
    }

    @Test(arguments: [
        (JSONValue.array([]), "data must be an object, got an array"),
        (.string("x"), "data must be an object, got a string"),
        (.null, "data must be an object, got null"),
        (.int(1), "data must be an object, got an integer"),
    ])
    func dataThatIsNotAnObjectIsRejected(data: JSONValue, message: String) {
        for command in OrdersDomain.commandNames {
            #expect(wireError { try InMemoryStreams().decide(command, data) } == WireError(.invalidArgument, message))
        }
    }

    @Test func fieldsAreCheckedInOrderSoTheFirstProblemIsReported() {
        let error = wireError { try InMemoryStreams().decide("PlaceOrder", ["amountCents": "x"]) }
        #expect(error == WireError(.invalidArgument, "data.orderId is missing"))
    }

    @Test func validationComesBeforeDomainRules() {
        // No user exists, but the malformed amount is what the client needs to hear about.
        let error = wireError {
            try InMemoryStreams().decide("PlaceOrder", ["orderId": "o-1", "userId": "u1", "amountCents": -5, "description": "x"])
        }
        #expect(error == WireError(.invalidArgument, "data.amountCents must be greater than 0, got -5"))
    }
}

import TestSupport
import EventModel
import OrdersDomain
import Testing
import WireProtocol

@Suite struct DecideTests {
    // MARK: - Happy paths

    @Test func registerUserAppendsUserRegisteredToANewStream() throws {
        let requests = try InMemoryStreams().decide("RegisterUser", ["userId": "u1", "name": "Ada", "state": "California"])
        #expect(requests.count == 1)
        #expect(requests[0].stream == "user-u1")
        #expect(requests[0].expectedVersion == .noStream)
        #expect(requests[0].checkIdempotency == false)
        #expect(requests[0].events.map(\.type) == ["UserRegistered"])
        #expect(try eventData(requests) == ["userId": "u1", "name": "Ada", "state": "California"])
        #expect(requests[0].events[0].metadata == nil)
    }

    @Test func changeUserAddressCarriesThePreviousState() throws {
        let requests = try InMemoryStreams.withUser().decide("ChangeUserAddress", ["userId": "u1", "state": "Oregon"])
        #expect(requests.count == 1)
        #expect(requests[0].stream == "user-u1")
        #expect(requests[0].expectedVersion == .exact(0))
        #expect(requests[0].events.map(\.type) == ["UserAddressChanged"])
        #expect(try eventData(requests) == ["userId": "u1", "state": "Oregon", "previousState": "California"])
    }

    @Test func placeOrderCreatesAPaymentPendingOrder() throws {
        let requests = try InMemoryStreams.withUser().decide(
            "PlaceOrder", ["orderId": "o-123", "userId": "u1", "amountCents": 4999, "description": "red running shoes"])
        #expect(requests.count == 1)
        #expect(requests[0].stream == "order-o-123")
        #expect(requests[0].expectedVersion == .noStream)
        #expect(requests[0].checkIdempotency == false)
        #expect(requests[0].events.map(\.type) == ["OrderCreated"])
        #expect(
            try eventData(requests) == [
                "orderId": "o-123", "userId": "u1", "amountCents": 4999, "description": "red running shoes",
                "status": "payment_pending",
            ])
    }

    @Test func confirmPaymentMarksTheOrderPaid() throws {
        let requests = try InMemoryStreams.withOrder(.paymentPending).decide("ConfirmPayment", ["orderId": "o-1"])
        #expect(requests[0].stream == "order-o-1")
        #expect(requests[0].expectedVersion == .exact(0))
        #expect(requests[0].events.map(\.type) == ["PaymentConfirmed"])
        #expect(try eventData(requests) == ["orderId": "o-1", "userId": "u1", "status": "paid"])
    }

    @Test func shipOrderMarksThePaidOrderShipped() throws {
        let requests = try InMemoryStreams.withOrder(.paid).decide("ShipOrder", ["orderId": "o-1"])
        #expect(requests[0].stream == "order-o-1")
        #expect(requests[0].expectedVersion == .exact(1))
        #expect(requests[0].events.map(\.type) == ["OrderShipped"])
        #expect(try eventData(requests) == ["orderId": "o-1", "userId": "u1", "status": "shipped"])
    }

    @Test(arguments: [(OrderStatus.paymentPending, Int64(0)), (.paid, 1)])
    func cancelOrderCancelsAnUnshippedOrder(status: OrderStatus, version: Int64) throws {
        let requests = try InMemoryStreams.withOrder(status).decide("CancelOrder", ["orderId": "o-1", "reason": "too slow"])
        #expect(requests[0].stream == "order-o-1")
        #expect(requests[0].expectedVersion == .exact(version))
        #expect(requests[0].events.map(\.type) == ["OrderCancelled"])
        #expect(try eventData(requests) == ["orderId": "o-1", "userId": "u1", "reason": "too slow", "status": "cancelled"])
    }

    @Test(arguments: [["orderId": "o-1"], ["orderId": "o-1", "reason": ""]] as [JSONValue])
    func cancelOrderWithoutAReasonCarriesAnEmptyOne(data: JSONValue) throws {
        let requests = try InMemoryStreams.withOrder(.paid).decide("CancelOrder", data)
        #expect(try eventData(requests) == ["orderId": "o-1", "userId": "u1", "reason": "", "status": "cancelled"])
    }

    @Test func everyDecisionMintsAFreshEventId() throws {
        let streams = InMemoryStreams()
        let data: JSONValue = ["userId": "u1", "name": "Ada", "state": "California"]
        let first = try streams.decide("RegisterUser", data)[0].events[0].id
        let second = try streams.decide("RegisterUser", data)[0].events[0].id
        #expect(first != second)
    }

    @Test func extraFieldsInDataAreIgnored() throws {
        let requests = try InMemoryStreams().decide(
            "RegisterUser", ["userId": "u1", "name": "Ada", "state": "California", "email": "ada@example.com", "vip": true])
        #expect(try eventData(requests) == ["userId": "u1", "name": "Ada", "state": "California"])
    }

    @Test func eventDataIsCompactJSONWithSortedKeys() throws {
        let requests = try InMemoryStreams.withUser().decide(
            "PlaceOrder", ["orderId": "o-1", "userId": "u1", "amountCents": 5, "description": "a \"quoted\"\nline"])
        let text = String(decoding: requests[0].events[0].data, as: UTF8.self)
        #expect(
            text == #"{"amountCents":5,"description":"a \"quoted\"\nline","orderId":"o-1","status":"payment_pending","userId":"u1"}"#)
    }

    @Test func commandNamesListEveryCommand() {
        #expect(
            OrdersDomain.commandNames == [
                "RegisterUser", "ChangeUserAddress", "PlaceOrder", "ConfirmPayment", "ShipOrder", "CancelOrder",
            ])
    }

    // MARK: - Domain rules

    @Test func registeringAnExistingUserIsRejected() throws {
        let error = wireError { try InMemoryStreams.withUser().decide("RegisterUser", ["userId": "u1", "name": "Bob", "state": "Ohio"]) }
        #expect(error == WireError(.rejected, "user u1 already exists"))
    }

    @Test func changingTheAddressOfAnUnknownUserIsRejected() {
        let error = wireError { try InMemoryStreams().decide("ChangeUserAddress", ["userId": "u1", "state": "Ohio"]) }
        #expect(error == WireError(.rejected, "user u1 does not exist"))
    }

    @Test func placingAnOrderForAnUnknownUserIsRejected() {
        let error = wireError {
            try InMemoryStreams().decide("PlaceOrder", ["orderId": "o-1", "userId": "u1", "amountCents": 1, "description": "x"])
        }
        #expect(error == WireError(.rejected, "user u1 does not exist"))
    }

    @Test func placingAnExistingOrderIsRejected() {
        let error = wireError {
            try InMemoryStreams.withOrder(.paid).decide(
                "PlaceOrder", ["orderId": "o-1", "userId": "u1", "amountCents": 1, "description": "x"])
        }
        #expect(error == WireError(.rejected, "order o-1 already exists"))
    }

    @Test(arguments: ["ConfirmPayment", "ShipOrder", "CancelOrder"])
    func orderCommandsOnAnUnknownOrderAreRejected(command: String) {
        let error = wireError { try InMemoryStreams.withUser().decide(command, ["orderId": "o-9"]) }
        #expect(error == WireError(.rejected, "order o-9 does not exist"))
    }

    @Test(arguments: [
        ("ConfirmPayment", OrderStatus.paid, "order o-1 is already paid"),
        ("ConfirmPayment", .shipped, "order o-1 cannot be paid: it is shipped (must be payment_pending)"),
        ("ConfirmPayment", .cancelled, "order o-1 cannot be paid: it is cancelled (must be payment_pending)"),
        ("ShipOrder", .paymentPending, "order o-1 cannot be shipped: it is payment_pending (must be paid)"),
        ("ShipOrder", .shipped, "order o-1 is already shipped"),
        ("ShipOrder", .cancelled, "order o-1 cannot be shipped: it is cancelled (must be paid)"),
        ("CancelOrder", .shipped, "order o-1 cannot be cancelled: it is already shipped"),
        ("CancelOrder", .cancelled, "order o-1 is already cancelled"),
    ])
    func statusTransitionsOutsideTheLifeCycleAreRejected(command: String, status: OrderStatus, message: String) {
        let error = wireError { try InMemoryStreams.withOrder(status).decide(command, ["orderId": "o-1"]) }
        #expect(error == WireError(.rejected, message))
    }

    @Test func aRejectedCommandAppendsNothing() throws {
        var streams = try InMemoryStreams.withOrder(.shipped)
        let before = streams.position
        #expect(wireError { try streams.run("CancelOrder", ["orderId": "o-1"]) } != nil)
        #expect(streams.position == before)
    }

    // MARK: - Unknown command

    @Test(arguments: ["Foo", "registerUser", ""])
    func anUnknownCommandNamesTheKnownOnes(name: String) {
        let error = wireError { try InMemoryStreams().decide(name, ["userId": "u1"]) }
        #expect(
            error
                == WireError(
                    .unknownCommand,
                    "unknown command '\(name)' (known: RegisterUser, ChangeUserAddress, PlaceOrder, ConfirmPayment, ShipOrder, CancelOrder)"
                ))
    }

    @Test func anUnknownCommandsLongNameIsShortenedInTheMessage() {
        let error = wireError { try InMemoryStreams().decide(String(repeating: "x", count: 10_000), [:]) }
        #expect(error?.code == .unknownCommand)
        #expect(error?.message.hasPrefix("unknown command '" + String(repeating: "x", count: 64) + "…'") == true)
    }
}

import TestSupport
import EventModel
import Foundation
import OrdersDomain
import Testing
import WireProtocol

@Suite struct EvolveTests {
    @Test func aUserFoldsFromItsEvents() throws {
        var streams = try InMemoryStreams.withUser()
        #expect(streams.state(of: "user-u1").state == .user(User(userId: "u1", name: "Ada", state: "California")))
        #expect(streams.state(of: "user-u1").version == 0)
        try streams.run("ChangeUserAddress", ["userId": "u1", "state": "Oregon"])
        #expect(streams.state(of: "user-u1").state == .user(User(userId: "u1", name: "Ada", state: "Oregon")))
        #expect(streams.state(of: "user-u1").version == 1)
    }

    @Test(arguments: OrderStatus.allCases)
    func anOrderFoldsToTheStatusOfItsLastEvent(status: OrderStatus) throws {
        let streams = try InMemoryStreams.withOrder(status)
        let expected = Order(orderId: "o-1", userId: "u1", status: status, amountCents: 4999, description: "red shoes")
        #expect(streams.state(of: "order-o-1").state == .order(expected))
    }

    @Test func theFullLifeCycleRoundTrips() throws {
        var streams = try InMemoryStreams.withOrder(.shipped)
        #expect(streams.state(of: "order-o-1").version == 2)
        #expect(wireError { try streams.run("ShipOrder", ["orderId": "o-1"]) } == WireError(.rejected, "order o-1 is already shipped"))
        #expect(streams.position == 4)
    }

    @Test(arguments: [
        OrdersEvent.userRegistered(userId: "u1", name: "Ada \"the\" first", state: "Café"),
        .userAddressChanged(userId: "u1", state: "Oregon", previousState: "California"),
        .orderCreated(orderId: "o-1", userId: "u1", amountCents: 1_000_000_000_000, description: "line\none"),
        .paymentConfirmed(orderId: "o-1", userId: "u1"),
        .orderShipped(orderId: "o-1", userId: "u1"),
        .orderCancelled(orderId: "o-1", userId: "u1", reason: ""),
    ])
    func eventsDecodeWhatTheyEncode(event: OrdersEvent) throws {
        #expect(OrdersEvent(type: event.type, data: event.data) == event)
        // The hand-written encoder must agree byte for byte with JSONWriter.
        #expect(try JSONParser.parse(event.data).jsonBytes == event.data)
        #expect(event.newEvent.type == event.type)
        #expect(event.newEvent.data == event.data)
    }

    @Test func eventsCarryTheirStatus() throws {
        let cases: [(OrdersEvent, JSONValue?)] = [
            (.userRegistered(userId: "u", name: "n", state: "s"), nil),
            (.orderCreated(orderId: "o", userId: "u", amountCents: 1, description: "d"), "payment_pending"),
            (.paymentConfirmed(orderId: "o", userId: "u"), "paid"),
            (.orderShipped(orderId: "o", userId: "u"), "shipped"),
            (.orderCancelled(orderId: "o", userId: "u", reason: "r"), "cancelled"),
        ]
        for (event, status) in cases {
            #expect(try JSONParser.parse(event.data)["status"] == status)
        }
    }

    static let user = OrdersState.user(User(userId: "u1", name: "Ada", state: "California"))

    static func recorded(type: String, data: [UInt8]) -> RecordedEvent {
        RecordedEvent(
            id: UUID(), position: 1, stream: "user-u1", version: 1, type: type, data: data, metadata: nil, recordedAt: 0)
    }

    @Test(arguments: [
        ("NoteAdded", #"{"note":"hi"}"#),
        ("UserAddressChanged", "not json"),
        ("UserAddressChanged", "[1,2]"),
        ("UserAddressChanged", #"{"userId":"u1"}"#),
        ("UserAddressChanged", #"{"userId":"u1","state":7}"#),
        ("OrderCreated", #"{"orderId":"o-1","userId":"u1","amountCents":1.5,"description":"x"}"#),
        ("", ""),
    ])
    func unknownOrUndecodableEventsLeaveTheStateAsItIs(type: String, data: String) {
        let event = Self.recorded(type: type, data: Array(data.utf8))
        #expect(OrdersDomain().decode(event) == nil)
        #expect(OrdersDomain().evolve(Self.user, recorded: event) == Self.user)
        #expect(OrdersDomain().evolve(nil, recorded: event) == nil)
    }

    @Test func orderEventsWithoutAnOrderLeaveTheStateAsItIs() {
        let event = OrdersEvent.orderShipped(orderId: "o-1", userId: "u1")
        #expect(OrdersDomain().evolve(nil, event) == nil)
        #expect(OrdersDomain().evolve(Self.user, event) == Self.user)
        let recorded = Self.recorded(type: event.type, data: event.data)
        #expect(OrdersDomain().decode(recorded) == event)
        #expect(OrdersDomain().evolve(nil, recorded: recorded) == nil)
    }

    @Test func decisionsCarryTheirEventsTypedAndEncodedAlike() throws {
        let streams = try InMemoryStreams.withOrder(.paid)
        let decisions = try streams.decisions("CancelOrder", ["orderId": "o-1", "reason": "late"])
        #expect(decisions.count == 1)
        #expect(decisions[0].events == [.orderCancelled(orderId: "o-1", userId: "u1", reason: "late")])
        #expect(decisions[0].append.events.count == 1)
        let encoded = decisions[0].append.events[0]
        #expect(OrdersEvent(type: encoded.type, data: encoded.data) == decisions[0].events[0])
    }

    /// The write node folds decided events typed, without storing and reading them back: that
    /// must give the state a later load from the store gives.
    @Test(arguments: OrderStatus.allCases)
    func foldingDecidedEventsEqualsFoldingStoredOnes(status: OrderStatus) throws {
        var streams = try InMemoryStreams.withOrder(.paymentPending)
        var provisional = streams.state(of: "order-o-1")
        let commands: [(String, JSONValue)] =
            switch status {
            case .paymentPending: []
            case .paid: [("ConfirmPayment", ["orderId": "o-1"])]
            case .shipped: [("ConfirmPayment", ["orderId": "o-1"]), ("ShipOrder", ["orderId": "o-1"])]
            case .cancelled: [("CancelOrder", ["orderId": "o-1"])]
            }
        for (name, data) in commands {
            for decision in try streams.decisions(name, data) {
                for event in decision.events {
                    provisional.state = OrdersDomain().evolve(provisional.state, event)
                    provisional.version = (provisional.version ?? -1) + 1
                }
                streams.append(decision.append)
            }
        }
        let loaded = streams.state(of: "order-o-1")
        #expect(provisional.state == loaded.state)
        #expect(provisional.version == loaded.version)
    }

    @Test func foreignEventsInAStreamDoNotDisturbDecisions() throws {
        var streams = try InMemoryStreams.withUser()
        streams.appendRaw(stream: "user-u1", type: "NoteAdded", data: Array(#"{"note":"vip"}"#.utf8))
        let requests = try streams.decide("ChangeUserAddress", ["userId": "u1", "state": "Oregon"])
        #expect(requests[0].expectedVersion == .exact(1))
        #expect(try eventData(requests)["previousState"] == "California")
    }

    @Test func extraFieldsInStoredEventsAreIgnored() {
        let data = Array(#"{"orderId":"o-1","userId":"u1","status":"paid","by":"admin"}"#.utf8)
        #expect(OrdersEvent(type: "PaymentConfirmed", data: data) == .paymentConfirmed(orderId: "o-1", userId: "u1"))
    }
}

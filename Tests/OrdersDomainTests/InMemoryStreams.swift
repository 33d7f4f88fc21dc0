import TestSupport
import EventModel
import Foundation
import OrdersDomain
import WireProtocol

/// A tiny in-memory event store for deciding commands against: streams by name, decoded and folded
/// with `evolve` on every lookup (as the write node does when it loads a stream from the store).
struct InMemoryStreams {
    let domain = OrdersDomain()
    private(set) var events: [String: [RecordedEvent]] = [:]
    private(set) var position: Int64 = 0

    /// The stream lookup `decide` takes.
    func state(of stream: String) -> StreamState<OrdersState> {
        guard let recorded = events[stream], !recorded.isEmpty else { return StreamState(version: nil, state: nil) }
        return StreamState(version: recorded.last!.version, state: recorded.reduce(nil) { domain.evolve($0, recorded: $1) })
    }

    /// Decides a command without appending its events.
    func decisions(_ name: String, _ data: JSONValue) throws -> [Decision<OrdersEvent>] {
        try domain.decide(Command(name: name, data: data)) { state(of: $0) }
    }

    /// Decides a command without appending its events: the appends as the store receives them.
    func decide(_ name: String, _ data: JSONValue) throws -> [AppendRequest] {
        try decisions(name, data).map(\.append)
    }

    /// Decides a command and appends its events, as the write node would.
    @discardableResult
    mutating func run(_ name: String, _ data: JSONValue) throws -> [AppendRequest] {
        let requests = try decide(name, data)
        for request in requests { append(request) }
        return requests
    }

    /// Appends a request, checking its expected version, and records its events.
    mutating func append(_ request: AppendRequest) {
        var recorded = events[request.stream, default: []]
        let current = recorded.last?.version
        switch request.expectedVersion {
        case .exact(let version): precondition(current == version, "wrong expected version")
        case .noStream: precondition(current == nil, "wrong expected version")
        case .any: break
        }
        for event in request.events {
            position += 1
            recorded.append(
                RecordedEvent(
                    id: event.id, position: position, stream: request.stream, version: (recorded.last?.version ?? -1) + 1,
                    type: event.type, data: event.data, metadata: event.metadata, recordedAt: position * 1_000))
        }
        events[request.stream] = recorded
    }

    /// Appends a raw event (for foreign or malformed events).
    mutating func appendRaw(stream: String, type: String, data: [UInt8]) {
        append(AppendRequest(stream: stream, expectedVersion: .any, events: [NewEvent(type: type, data: data)]))
    }

    /// A store with user `u1` (Ada, California) registered.
    static func withUser() throws -> InMemoryStreams {
        var streams = InMemoryStreams()
        try streams.run("RegisterUser", ["userId": "u1", "name": "Ada", "state": "California"])
        return streams
    }

    /// A store with user `u1` and order `o-1` (4999 cents) brought to `status`.
    static func withOrder(_ status: OrderStatus) throws -> InMemoryStreams {
        var streams = try withUser()
        try streams.run("PlaceOrder", ["orderId": "o-1", "userId": "u1", "amountCents": 4999, "description": "red shoes"])
        switch status {
        case .paymentPending: break
        case .paid: try streams.run("ConfirmPayment", ["orderId": "o-1"])
        case .shipped:
            try streams.run("ConfirmPayment", ["orderId": "o-1"])
            try streams.run("ShipOrder", ["orderId": "o-1"])
        case .cancelled: try streams.run("CancelOrder", ["orderId": "o-1", "reason": "changed my mind"])
        }
        return streams
    }
}


/// The JSON an append's only event carries, parsed.
func eventData(_ requests: [AppendRequest]) throws -> JSONValue {
    try JSONParser.parse(requests[0].events[0].data)
}

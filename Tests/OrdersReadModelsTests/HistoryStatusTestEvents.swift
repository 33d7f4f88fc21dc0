import TestSupport
import EventStore
import Foundation
import OrdersDomain
import ProjectionRuntime
import WireProtocol

/// Builds a log of recorded events for the status and history tests: consecutive positions from 1,
/// per-stream versions, and a recorded time chosen by the test.
struct HistoryStatusTestLog {
    private(set) var events: [RecordedEvent] = []
    private var versions: [String: Int64] = [:]
    /// The recorded time of events appended without one: 2026-01-15T12:00:00Z.
    var time: Int64 = utcNanoseconds(2026, 1, 15, 12)

    var lastPosition: Int64 { events.last?.position ?? 0 }

    /// Appends a domain event to its stream (`order-<id>` or `user-<id>`).
    mutating func append(_ event: OrdersEvent, at recordedAt: Int64? = nil) {
        let stream: String
        switch event {
        case .userRegistered(let userId, _, _), .userAddressChanged(let userId, _, _): stream = "user-\(userId)"
        case .orderCreated(let orderId, _, _, _), .paymentConfirmed(let orderId, _), .orderShipped(let orderId, _),
            .orderCancelled(let orderId, _, _):
            stream = "order-\(orderId)"
        }
        appendRaw(stream: stream, type: event.type, data: event.data, at: recordedAt)
    }

    /// Appends any event, e.g. a type the projections do not know.
    mutating func appendRaw(stream: String, type: String, data: [UInt8], at recordedAt: Int64? = nil) {
        let version = versions[stream, default: -1] + 1
        versions[stream] = version
        events.append(
            RecordedEvent(
                id: UUID(), position: lastPosition + 1, stream: stream, version: version, type: type,
                data: data, metadata: nil, recordedAt: recordedAt ?? time))
    }

    mutating func create(_ orderId: String, user: String, cents: Int64 = 1000, at recordedAt: Int64? = nil) {
        append(.orderCreated(orderId: orderId, userId: user, amountCents: cents, description: "order \(orderId)"), at: recordedAt)
    }

    mutating func pay(_ orderId: String, user: String, at recordedAt: Int64? = nil) {
        append(.paymentConfirmed(orderId: orderId, userId: user), at: recordedAt)
    }

    mutating func ship(_ orderId: String, user: String, at recordedAt: Int64? = nil) {
        append(.orderShipped(orderId: orderId, userId: user), at: recordedAt)
    }

    mutating func cancel(_ orderId: String, user: String, at recordedAt: Int64? = nil) {
        append(.orderCancelled(orderId: orderId, userId: user, reason: "changed my mind"), at: recordedAt)
    }

    /// The events of the `order` category, as the runtime feeds them to these projections.
    var orderEvents: [RecordedEvent] { events.filter { $0.category == "order" } }
}

/// Nanoseconds since the epoch of a UTC date and time, computed with Foundation's Gregorian
/// calendar: an independent check of the projection's integer arithmetic.
func utcNanoseconds(
    _ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0, nanoseconds: Int64 = 0
) -> Int64 {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    let seconds = Int64(calendar.date(from: components)!.timeIntervalSince1970.rounded())
    return seconds * 1_000_000_000 + nanoseconds
}

/// Applies `events` in consecutive batches of the given sizes (the last size repeats), each batch's
/// checkpoint being its last event's position.
func applyInBatches(_ projection: any Projection, _ events: [RecordedEvent], sizes: [Int]) throws {
    var start = 0
    var sizeIndex = 0
    while start < events.count {
        let size = max(1, sizes[min(sizeIndex, sizes.count - 1)])
        let end = min(events.count, start + size)
        let batch = Array(events[start..<end])
        try projection.apply(batch, through: batch.last!.position)
        start = end
        sizeIndex += 1
    }
}

/// The `WireError` a query throws, or nil when it succeeds or throws something else.
func queryError(_ projection: any Projection, _ name: String, _ params: JSONValue) -> WireError? {
    wireError { try projection.query(name, params: params) }
}

/// Whether to run the benchmarks, which print figures rather than assert them:
/// `PRISM_BENCHMARK=1 swift test -c release --filter OrdersReadModelsTests`.
let historyStatusBenchmarksEnabled = ProcessInfo.processInfo.environment["PRISM_BENCHMARK"] != nil

/// A realistic order log: `orders` orders over `users` users and 24 months, each created, then
/// paid (4 in 5), then shipped (3 in 5) or cancelled (1 in 10).
func historyStatusBenchmarkLog(orders: Int, users: Int) -> HistoryStatusTestLog {
    var log = HistoryStatusTestLog()
    let start = utcNanoseconds(2024, 1, 1)
    let step: Int64 = 2 * 365 * 86_400_000_000_000 / Int64(orders)
    for index in 0..<orders {
        let orderId = "order-\(index)"
        let user = "user-\(index % users)"
        let at = start + Int64(index) * step
        log.create(orderId, user: user, cents: Int64(100 + index % 10_000), at: at)
        if index % 5 != 0 { log.pay(orderId, user: user, at: at + 1) }
        if index % 5 >= 2 { log.ship(orderId, user: user, at: at + 2) } else if index % 10 == 1 { log.cancel(orderId, user: user, at: at + 2) }
    }
    return log
}

/// Wall-clock seconds and this thread's CPU seconds taken by `body`. On a shared machine the
/// CPU figure is the steadier one; the gap between them is waiting (for the disk or for a core).
func historyStatusSeconds(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
    func threadCPU() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
    let clock = ContinuousClock()
    let cpuStart = threadCPU()
    let elapsed = try clock.measure(body)
    let cpu = threadCPU() - cpuStart
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, cpu)
}

/// "N events in W s wall (R/s), C s CPU (R/s)".
func historyStatusRate(_ count: Int, _ seconds: (wall: Double, cpu: Double)) -> String {
    func format(_ value: Double) -> String { String(format: "%.2f", value) }
    return "\(count) events in \(format(seconds.wall)) s wall (\(Int(Double(count) / seconds.wall))/s), "
        + "\(format(seconds.cpu)) s CPU (\(Int(Double(count) / seconds.cpu))/s)"
}

extension HistoryStatusTestLog {
    /// A log touching every event type, two users, and events the status model must ignore.
    static func statusSample() -> HistoryStatusTestLog {
        var log = HistoryStatusTestLog()
        log.append(.userRegistered(userId: "u1", name: "Ann", state: "Oregon"))
        log.create("o1", user: "u1", cents: 100)
        log.create("o2", user: "u2", cents: 200)
        log.create("o3", user: "u1", cents: 300)
        log.pay("o1", user: "u1")
        log.appendRaw(stream: "order-o1", type: "OrderNoteAdded", data: Array(#"{"orderId":"o1","note":"hi"}"#.utf8))
        log.ship("o1", user: "u1")
        log.cancel("o3", user: "u1")
        log.create("o4", user: "u2", cents: 400)
        log.pay("o2", user: "u2")
        log.appendRaw(stream: "order-o9", type: "OrderCreated", data: Array("not json".utf8))
        log.create("o5", user: "u1", cents: 500)
        return log
    }
}

/// Status queries with bad parameters and the message each gets (embedded and Redis alike).
let statusInvalidParams: [(String, JSONValue, String)] = [
    ("orderStatus", JSONValue.array([]), "params must be an object, got an array"),
    ("orderStatus", [:], "params.orderId is missing"),
    ("orderStatus", ["orderId": 7], "params.orderId must be a string, got an integer"),
    ("orderStatus", ["orderId": ""], "params.orderId is empty"),
    ("userOrders", [:], "params.userId is missing"),
    ("userOrders", ["userId": "u 1"], "params.userId contains ' ' (U+0020), which is not allowed in an id (allowed: A-Z a-z 0-9 . _ : -)"),
    ("userOrders", ["userId": "u1", "limit": 0], "params.limit must be greater than 0, got 0"),
    ("userOrders", ["userId": "u1", "limit": 1001], "params.limit must be at most 1000, got 1001"),
    ("userOrders", ["userId": "u1", "limit": "5"], "params.limit must be an integer, got a string"),
    ("userOrders", ["userId": "u1", "limit": nil], "params.limit must be an integer, got null"),
    ("userOrders", ["userId": "u1", "limit": 2.5], "params.limit must be an integer, got a number (2.5)"),
]

/// The orders domain's command mix for one load connection, always valid.
///
/// Each connection owns the orders it places, so every command on an order travels the same
/// DEALER socket as its predecessors and cannot overtake them. States are tracked at send time
/// (every command is assumed to succeed; a reply that says otherwise is counted as an error).
/// Users are registered before the timed phase and shared by all connections: PlaceOrder and
/// ChangeUserAddress are valid for any registered user.
struct LoadWorkload {
    /// The five commands of the mix; their shares are drawn in `next()`.
    enum Kind {
        case placeOrder, confirmPayment, shipOrder, cancelOrder, changeUserAddress
    }

    let runPrefix: String
    let connection: Int
    let users: Int
    private var random: SplitMix64
    private var nextOrder = 0
    private var pending: [Int] = []
    private var paid: [Int] = []
    private let descriptions: [String]

    /// - Parameters:
    ///   - runPrefix: makes this run's user and order ids unique in the store.
    ///   - size: approximate bytes of each order description.
    init(runPrefix: String, connection: Int, users: Int, size: Int, seed: UInt64) {
        self.runPrefix = runPrefix
        self.connection = connection
        self.users = users
        // Distinct, reproducible streams per connection from one seed.
        var random = SplitMix64(seed: seed &+ UInt64(connection) &* 0x9E37_79B9_7F4A_7C15)
        // A small pool of descriptions: building one per command would cost more than sending it.
        descriptions = (0..<64).map { _ in Self.description(size: size, random: &random) }
        self.random = random
    }

    static func userID(_ runPrefix: String, _ index: Int) -> String { "\(runPrefix)-u\(index)" }

    /// The RegisterUser command for user `index`.
    static func registerUser(_ runPrefix: String, _ index: Int) -> [UInt8] {
        Array(#"{"command":"RegisterUser","data":{"userId":"\#(userID(runPrefix, index))","name":"Load user \#(index)","state":"\#(states[index % states.count])"}}"#.utf8)
    }

    /// The next command of the mix, as a request body.
    mutating func next() -> [UInt8] {
        let roll = random.next() % 100
        let kind: Kind
        switch roll {
        case 0..<40: kind = .placeOrder
        case 40..<65: kind = pending.isEmpty ? .placeOrder : .confirmPayment
        case 65..<80: kind = !paid.isEmpty ? .shipOrder : pending.isEmpty ? .placeOrder : .confirmPayment
        case 80..<90: kind = pending.isEmpty && paid.isEmpty ? .placeOrder : .cancelOrder
        default: kind = .changeUserAddress
        }
        return body(kind)
    }

    private mutating func body(_ kind: Kind) -> [UInt8] {
        let text: String
        switch kind {
        case .placeOrder:
            let order = nextOrder
            nextOrder += 1
            pending.append(order)
            let user = Self.userID(runPrefix, Int(random.next() % UInt64(users)))
            let amount = 100 + random.next() % 500_000
            let description = descriptions[Int(random.next() % UInt64(descriptions.count))]
            text = #"{"command":"PlaceOrder","data":{"orderId":"\#(orderID(order))","userId":"\#(user)","amountCents":\#(amount),"description":"\#(description)"}}"#
        case .confirmPayment:
            let order = Self.take(&pending, &random)
            paid.append(order)
            text = #"{"command":"ConfirmPayment","data":{"orderId":"\#(orderID(order))"}}"#
        case .shipOrder:
            text = #"{"command":"ShipOrder","data":{"orderId":"\#(orderID(Self.take(&paid, &random)))"}}"#
        case .cancelOrder:
            // Pending and paid orders are both cancellable; pick among all of them evenly.
            let fromPending = random.next() % UInt64(pending.count + paid.count) < UInt64(pending.count)
            let order = fromPending ? Self.take(&pending, &random) : Self.take(&paid, &random)
            text = #"{"command":"CancelOrder","data":{"orderId":"\#(orderID(order))","reason":"changed my mind"}}"#
        case .changeUserAddress:
            let user = Self.userID(runPrefix, Int(random.next() % UInt64(users)))
            let state = Self.states[Int(random.next() % UInt64(Self.states.count))]
            text = #"{"command":"ChangeUserAddress","data":{"userId":"\#(user)","state":"\#(state)"}}"#
        }
        return Array(text.utf8)
    }

    private func orderID(_ order: Int) -> String { "\(runPrefix)-c\(connection)-o\(order)" }

    /// Removes and returns a random element (order does not matter, so swap with the last).
    private static func take(_ orders: inout [Int], _ random: inout SplitMix64) -> Int {
        let index = Int(random.next() % UInt64(orders.count))
        orders.swapAt(index, orders.count - 1)
        return orders.removeLast()
    }

    static let states = ["California", "Oregon", "Nevada", "Texas", "New York", "Washington", "Florida", "Ohio"]

    private static let words = [
        "red", "blue", "green", "black", "wool", "leather", "running", "trail", "rain", "winter",
        "shoes", "jacket", "hat", "socks", "shorts", "backpack", "bottle", "gloves", "scarf", "boots",
        "light", "warm", "waterproof", "classic", "kids", "large", "small", "cotton", "merino", "canvas",
    ]

    /// Words separated by spaces, about `size` bytes (JSON-safe: letters and spaces only).
    private static func description(size: Int, random: inout SplitMix64) -> String {
        var text = words[Int(random.next() % UInt64(words.count))]
        while text.utf8.count < size {
            text += " " + words[Int(random.next() % UInt64(words.count))]
        }
        return String(text.prefix(size))
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64), so `--seed` reproduces a run's mix.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in (0, 1], for exponential gaps (never 0, so `log` is finite).
    mutating func nextUnitInterval() -> Double {
        (Double(next() >> 11) + 1) / 9_007_199_254_740_992
    }
}

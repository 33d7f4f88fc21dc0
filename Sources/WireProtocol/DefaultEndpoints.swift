/// The endpoints every process binds or dials when given none: the only place the default ports
/// are written down (`scripts/lagexp/endpoints.py` reads the `…Port = n` lines of this file, so
/// keep one per line).
public enum DefaultEndpoints {
    public static let commandPort = 5550
    public static let publishPort = 5551
    public static let catchUpPort = 5552
    public static let ordersQueryPort = 5560
    public static let searchQueryPort = 5561
    public static let statusQueryPort = 5562
    public static let historyQueryPort = 5563
    public static let outboxRelayPort = 5565

    /// `tcp://127.0.0.1:<port>`: every default is on loopback.
    public static func loopback(_ port: Int) -> String { "tcp://127.0.0.1:\(port)" }

    /// The write node's ROUTER for commands and appends.
    public static let command = loopback(commandPort)
    /// The write node's PUB for events and heartbeats.
    public static let publish = loopback(publishPort)
    /// The write node's ROUTER serving "events after position N".
    public static let catchUp = loopback(catchUpPort)

    /// The outbox relay's ROUTER answering `health`, `stats` and `positionOf`.
    public static let outboxRelay = loopback(outboxRelayPort)

    /// Each standard projector's query endpoint, in the order `prism status` lists them.
    public static let queries: [(name: String, endpoint: String)] = [
        ("orders", loopback(ordersQueryPort)), ("search", loopback(searchQueryPort)),
        ("status", loopback(statusQueryPort)), ("history", loopback(historyQueryPort)),
    ]
}

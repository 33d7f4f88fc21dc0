/// The key a server serves with by default (its `--identity`), so clients know which public
/// certificate to trust at which endpoint: written once here for servers and clients alike.
public enum ServerKeyName {
    /// The write node's command, PUB and catch-up endpoints: `write-node.key` / `write-node.pub`.
    public static let writeNode = "write-node"

    /// The outbox relay's query endpoint, and its key as the write node's client (role `writer`).
    public static let outboxRelay = "outbox-relay"

    /// A projector's query endpoint: `orders` → `orders-projector`.
    public static func projector(_ name: String) -> String { "\(name)-projector" }
}

import WireProtocol

/// One projector executable, described once: its name, its default query port and how it opens its
/// read model on each store it supports. A `…-projector` executable is this plus the shared flags.
public struct ProjectorDefinition: Sendable {
    /// Opens (creating) one copy of a read model: `directory` is the copy's `generation-<n>`
    /// directory (an embedded model's files go there; a server's names follow its generation).
    public typealias Opener = @Sendable (_ settings: StoreSettings, _ directory: String) throws -> any Projection

    /// `orders`, `search` …: names the executable (`<name>-projector`), the logger, the default
    /// data directory, `stats` and the model's names in a database server.
    public var name: String
    /// One line for `--help`.
    public var summary: String
    /// The query port on 127.0.0.1 when no `--query-endpoint` is given.
    public var queryPort: Int
    /// How the read model opens on each store it runs on (always `.embedded`).
    public var stores: [StoreKind: Opener]

    public init(name: String, summary: String, queryPort: Int, stores: [StoreKind: Opener]) {
        self.name = name
        self.summary = summary
        self.queryPort = queryPort
        self.stores = stores
    }

    public var defaultQueryEndpoint: String { DefaultEndpoints.loopback(queryPort) }
    public var defaultDataDirectory: String { "data/\(name)-projector" }

    /// The stores this projector runs on, in `StoreKind` order.
    public var storeKinds: [StoreKind] { StoreKind.allCases.filter { stores[$0] != nil } }

    /// Opens copies of the read model on `settings`' store.
    ///
    /// - Throws: `ProjectorError` when this projector has no such store.
    public func opener(for settings: StoreSettings) throws -> @Sendable (_ directory: String) throws -> any Projection {
        guard let open = stores[settings.kind] else {
            throw ProjectorError("the \(name) projector has no \(settings.kind.rawValue) store (it runs on: "
                + storeKinds.map(\.rawValue).joined(separator: ", ") + ")")
        }
        return { directory in try open(settings, directory) }
    }
}

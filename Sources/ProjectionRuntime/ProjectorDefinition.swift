import WireProtocol

/// One projector executable, described once: its name, its default query port and how it opens its
/// read model. A `…-projector` executable is this plus the shared flags.
public struct ProjectorDefinition: Sendable {
    /// `orders`, `search` …: names the executable (`<name>-projector`), the logger, the default
    /// data directory and `stats`.
    public var name: String
    /// One line for `--help`.
    public var summary: String
    /// The query port on 127.0.0.1 when no `--query-endpoint` is given.
    public var queryPort: Int
    /// Opens (creating) the read model in a directory.
    public var makeProjection: @Sendable (_ directory: String) throws -> any Projection

    public init(name: String, summary: String, queryPort: Int,
                makeProjection: @escaping @Sendable (_ directory: String) throws -> any Projection) {
        self.name = name
        self.summary = summary
        self.queryPort = queryPort
        self.makeProjection = makeProjection
    }

    public var defaultQueryEndpoint: String { DefaultEndpoints.loopback(queryPort) }
    public var defaultDataDirectory: String { "data/\(name)-projector" }
}

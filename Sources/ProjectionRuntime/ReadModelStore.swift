import Foundation

/// Where a read model lives: the embedded default beside the projector, or a database server.
public enum StoreKind: String, CaseIterable, Sendable {
    /// SQLite files or memory with a snapshot, in the projector's data directory.
    case embedded
    /// A schema in a PostgreSQL database (`--postgres-url`).
    case postgres
    /// Keys in a Redis database (`--redis-url`).
    case redis
}

/// The store a projector runs its read model on, and how to reach it (`--store`, `--postgres-url`,
/// `--redis-url`, `--store-prefix`).
public struct StoreSettings: Sendable {
    public var kind: StoreKind
    /// `postgres://user:password@host:port/database`; used by `.postgres`.
    public var postgresURL: String?
    /// `redis://[[user]:password@]host:port[/db]`; used by `.redis`.
    public var redisURL: String?
    /// Names every database object of this deployment's models: a PostgreSQL schema
    /// `<prefix>_<projector>_g<n>`, Redis keys `<prefix>:<projector>:g<n>:…` (see `StoreNamespace`).
    public var prefix: String
    /// PostgreSQL's `synchronous_commit` for the model's sessions: off by default (a model is
    /// rebuildable and its checkpoint commits with it, so a crash loses batches and checkpoint
    /// together and the projector applies them again); on waits for the server's WAL flush per batch.
    public var postgresSynchronousCommit = false

    public static let defaultPrefix = "prism"

    public init(kind: StoreKind = .embedded, postgresURL: String? = nil, redisURL: String? = nil, prefix: String = defaultPrefix) {
        self.kind = kind
        self.postgresURL = postgresURL
        self.redisURL = redisURL
        self.prefix = prefix
    }

    /// Whether `prefix` is usable unquoted in SQL and in key names: a lowercase letter, then
    /// lowercase letters, digits or `_`, at most 32 characters.
    public static func isValidPrefix(_ prefix: String) -> Bool {
        guard let first = prefix.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), prefix.utf8.count <= 32 else { return false }
        return prefix.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }
}

/// The names one copy of a read model takes in a database server.
///
/// A projector keeps its copies as `generation-<n>/` directories (`ModelGenerations`); a model in
/// a server is named after the same generation, so that a live rebuild fills
/// `prism_orders_g2` beside the live `prism_orders_g1` and the old one is dropped after the switch
/// (`Projection.discard`). The directory itself then holds nothing of the model.
public struct StoreNamespace: Sendable, Equatable {
    public var prefix: String
    public var projector: String
    public var generation: Int

    public init(prefix: String, projector: String, generation: Int) {
        self.prefix = prefix
        self.projector = projector
        self.generation = generation
    }

    /// The namespace of the copy in `directory` (a `generation-<n>` directory of the projector's data directory).
    ///
    /// - Throws: `ProjectorError` when the directory's name is not `generation-<n>`.
    public init(prefix: String, projector: String, directory: String) throws {
        guard let generation = ModelGenerations.generation(named: (directory as NSString).lastPathComponent) else {
            throw ProjectorError("\(directory) is not a generation-<n> directory of a projector")
        }
        self.init(prefix: prefix, projector: projector, generation: generation)
    }

    /// The PostgreSQL schema: `prism_orders_g1`.
    public var postgresSchema: String { "\(prefix)_\(projector)_g\(generation)" }

    /// The Redis key prefix, colon included: `prism:status:g1:`.
    public var redisKeyPrefix: String { "\(prefix):\(projector):g\(generation):" }
}

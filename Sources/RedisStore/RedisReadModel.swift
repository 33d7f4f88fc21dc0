import Foundation
import Logging
import ProjectionRuntime
import WireProtocol

/// The Redis plumbing a key-value read model needs: its namespace, the checkpoint stored in the
/// same transaction as each batch, the ownership and durability checks, digest, reset and discard.
///
/// **Namespace.** Every key of the copy starts with `StoreNamespace.redisKeyPrefix`
/// (`prism:status:g1:`). `<prefix>meta` is a hash naming the projector and the key layout's
/// version; `<prefix>checkpoint` holds the position of the last applied event. On each connection
/// the model checks the meta key: a namespace naming another projector, or holding keys but no
/// meta key, is refused (`ReadModelStoreError`, disconnected, saying what was found); one of
/// another layout version is emptied, with a log line, so that the runtime rebuilds it from the
/// log (its checkpoint goes with it); an empty one is claimed.
///
/// **One round trip per batch.** `apply` pipelines `MULTI`, the batch's commands,
/// `SET <prefix>checkpoint`, `EXEC` in one write and then reads every reply: the server applies
/// the batch and moves the checkpoint together or not at all. A command refused while queued
/// (`OOM`, a syntax error) aborts the whole transaction; a lost connection leaves it unknown
/// whether `EXEC` ran, which is why the runtime re-reads `checkpoint()` — always from the server —
/// after every store failure. Only a command failing while `EXEC` runs (`WRONGTYPE`: a key of the
/// namespace that someone else rewrote) leaves the others applied; that is a `RedisError`, on
/// which the projector stops.
///
/// **Durability: the server must keep an append-only file** (`appendonly yes`, checked on each
/// connection; without it a restart of Redis loses the model silently, or brings back an RDB
/// snapshot of minutes ago). Recommended: `appendfsync everysec`. The model is rebuildable, and
/// Redis writes a `MULTI`/`EXEC` transaction to the AOF as one unit and loads it back whole or
/// not at all (a torn tail is cut at the last complete transaction), so after a crash the model
/// and its checkpoint come back together, at worst a second or two older than what was
/// acknowledged (Redis fsyncs once a second, and while a slow fsync runs it defers writing the
/// AOF for up to 2 s yet still replies, so even a killed process can lose that tail), and the
/// runtime catches up from that checkpoint. `always` would fsync every batch for no gain in
/// correctness.
///
/// The model is written for a single Redis server, not a cluster: a batch's `MULTI`/`EXEC` spans
/// keys of many hash slots.
public final class RedisReadModel {
    private let connection: RedisConnection
    public let namespace: StoreNamespace
    /// The namespace's key prefix, colon included.
    public let keyPrefix: String
    /// The key layout's version, stored in the meta key.
    public let schemaVersion: Int
    /// `appendfsync` as last read from the server (`stats`).
    private var appendfsync: String?
    /// How long the last `apply`'s round trip took, in ns (its `commit` lag stage).
    public private(set) var lastCommitNanoseconds: Int64 = 0
    private let logger: Logger

    /// Keys fetched or deleted per round trip when walking the namespace.
    static let scanCount = 1000

    /// A model in `namespace` of the server at `url`. Nothing is sent yet: a server that is down
    /// fails the first call, not this.
    ///
    /// - Parameters:
    ///   - url: `redis://[[user]:password@]host[:port][/db]`.
    ///   - schemaVersion: the model's key layout; a namespace of another version is emptied.
    /// - Throws: `ReadModelStoreError` when `url` is missing or malformed.
    public init(url: String?, namespace: StoreNamespace, schemaVersion: Int, logger: Logger = Logger(label: "prism.redis")) throws {
        guard let url else {
            throw ReadModelStoreError("the \(namespace.projector) projector's Redis store needs --redis-url (or PRISM_REDIS_URL)")
        }
        let parsed: RedisURL
        do {
            parsed = try RedisURL(parsing: url)
        } catch {
            throw ReadModelStoreError("bad --redis-url: \(error.message)")
        }
        connection = RedisConnection(url: parsed, logger: logger)
        self.namespace = namespace
        keyPrefix = namespace.redisKeyPrefix
        self.schemaVersion = schemaVersion
        self.logger = logger
        connection.onConnect = { [unowned self] _ in
            try requireAppendOnlyFile()
            try claimNamespace()
        }
    }

    /// The opener's usual case: the copy in `directory` (a `generation-<n>` directory) of
    /// `projector`'s model on `settings`' server.
    public convenience init(settings: StoreSettings, projector: String, directory: String, schemaVersion: Int) throws {
        try self.init(
            url: settings.redisURL, namespace: StoreNamespace(prefix: settings.prefix, projector: projector, directory: directory),
            schemaVersion: schemaVersion)
    }

    /// `<prefix><name>`.
    public func key(_ name: String) -> String { keyPrefix + name }

    var metaKey: String { key("meta") }
    /// Holds the checkpoint; `readForBatch` `WATCH`es it, so that another writer's batch in
    /// between makes `apply`'s `EXEC` fail rather than overwrite it.
    var checkpointKey: String { key("checkpoint") }

    // MARK: - Batches

    /// The checkpoint in the server (never a remembered value), 0 for an empty namespace.
    public func checkpoint() throws -> Int64 {
        try position(connection.run(RedisCommand("GET", checkpointKey), idempotent: true))
    }

    /// Starts a batch in one round trip: `WATCH`es the checkpoint, reads it and runs `reads` (what
    /// the batch needs to know of the model), for `apply` to write with the next `EXEC`.
    ///
    /// - Returns: the checkpoint (events at or below it are in already) and the replies of `reads`.
    public func readForBatch(_ reads: [RedisCommand]) throws -> (checkpoint: Int64, replies: [RedisValue]) {
        let replies = try read([RedisCommand("WATCH", checkpointKey), RedisCommand("GET", checkpointKey)] + reads)
        return (try position(replies[1]), Array(replies.dropFirst(2)))
    }

    /// A checkpoint's value: 0 when there is none.
    private func position(_ value: RedisValue) throws -> Int64 {
        if value == .null { return 0 }
        guard let position = value.integer else { throw RedisError(command: "GET", message: "\(checkpointKey) holds \(value), not a position") }
        return position
    }

    /// Runs `commands` and sets the checkpoint to `position` in one `MULTI`/`EXEC`, in one round
    /// trip (see the type's notes).
    ///
    /// - Throws: `ReadModelStoreError` when the server is unreachable, busy or refused the
    ///   transaction; `RedisError` when a command failed on its own.
    public func apply(_ commands: [RedisCommand], through position: Int64) throws {
        let transaction = [RedisCommand("MULTI")] + commands + [RedisCommand("SET", checkpointKey, String(position)), RedisCommand("EXEC")]
        let started = monotonicNanoseconds()
        let replies = try connection.pipeline(transaction)
        lastCommitNanoseconds = monotonicNanoseconds() - started
        // A command refused while queued (the first error) explains the EXECABORT after it.
        for (command, reply) in zip(transaction, replies) where reply.errorMessage != nil {
            _ = try connection.checked(reply, from: command.name)
        }
        guard case .array(let results) = replies.last else {
            throw ReadModelStoreError(
                "Redis at \(connection.url.endpoint) did not run the transaction: another client wrote \(checkpointKey) "
                    + "since it was watched (EXEC replied \(replies.last ?? .null))")
        }
        for (command, result) in zip(transaction.dropFirst(), results) where result.errorMessage != nil {
            _ = try connection.checked(result, from: command.name)
        }
    }

    /// Sends read commands in one round trip (reconnecting once if the connection was lost since
    /// the last call) and returns their replies, throwing the first error reply.
    public func read(_ commands: [RedisCommand]) throws -> [RedisValue] {
        let replies = try connection.pipeline(commands, idempotent: true)
        for (command, reply) in zip(commands, replies) { _ = try connection.checked(reply, from: command.name) }
        return replies
    }

    /// Runs a query's reads: a store failure becomes `WireError(.unavailable)` naming it, as the
    /// runtime answers a query it cannot serve.
    public func answering<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ReadModelStoreError {
            throw WireError(.unavailable, "the read model's Redis store is unavailable: \(error.message)")
        }
    }

    // MARK: - The whole namespace

    /// A digest of every key of the namespace but the meta key and the checkpoint, in key order:
    /// each key's name after the prefix and its type, then its content (a string's value; a hash's or a set's members
    /// sorted; a list's or a sorted set's in their order).
    public func digest() throws -> String {
        var digest = Digest()
        let bookkeeping = [Array(metaKey.utf8), Array(checkpointKey.utf8)]
        let keys = try namespaceKeys().filter { !bookkeeping.contains($0) }.sorted { $0.lexicographicallyPrecedes($1) }
        var start = 0
        while start < keys.count {
            let page = Array(keys[start..<min(start + Self.scanCount, keys.count)])
            start += page.count
            let types = try read(page.map { key in var command = RedisCommand("TYPE"); command.append(key); return command })
            let contents = try read(zip(page, types).map { key, type in Self.contentCommand(key, type: type.text ?? "") })
            for ((key, type), content) in zip(zip(page, types), contents) {
                digest.add(String(decoding: key.dropFirst(keyPrefix.utf8.count), as: UTF8.self))  // the same in every generation
                digest.add(type.text ?? "")
                for item in Self.canonical(content, type: type.text ?? "") { digest.add(item) }
                digest.add("\n")
            }
        }
        return digest.hex
    }

    private static func contentCommand(_ key: [UInt8], type: String) -> RedisCommand {
        var command: RedisCommand
        switch type {
        case "hash": command = RedisCommand("HGETALL")
        case "list": command = RedisCommand("LRANGE")
        case "set": command = RedisCommand("SMEMBERS")
        case "zset": command = RedisCommand("ZRANGE")
        default: command = RedisCommand("GET")
        }
        command.append(key)
        switch type {
        case "list": command.append("0"); command.append("-1")
        case "zset": command.append("0"); command.append("-1"); command.append("WITHSCORES")
        default: break
        }
        return command
    }

    private static func canonical(_ content: RedisValue, type: String) -> [String] {
        guard case .array(let items) = content else { return [content.text ?? ""] }
        let texts = items.map { $0.text ?? "" }
        switch type {
        case "set": return texts.sorted()
        case "hash":
            let pairs = stride(from: 0, to: texts.count - 1, by: 2).map { (texts[$0], texts[$0 + 1]) }
            return pairs.sorted { $0.0 < $1.0 }.flatMap { [$0.0, $0.1] }
        default: return texts
        }
    }

    /// Deletes every key of the namespace and writes the meta key again: an empty model at
    /// checkpoint 0.
    public func reset() throws {
        try deleteNamespace()
        try connection.run(metaCommand)
    }

    /// Deletes every key of the namespace, the meta key included (`Projection.discard`); keys of
    /// other namespaces are left alone.
    public func discard() throws {
        try deleteNamespace()
    }

    public func close() { connection.close() }

    /// The names of every key under the prefix (`SCAN … MATCH <prefix>*`).
    func namespaceKeys() throws -> [[UInt8]] {
        var keys: [[UInt8]] = []
        try scanNamespace { page in
            keys += page
            return true
        }
        return keys
    }

    private func deleteNamespace() throws {
        var keys = try namespaceKeys()[...]
        while !keys.isEmpty {
            var command = RedisCommand("UNLINK")
            for key in keys.prefix(Self.scanCount) { command.append(key) }
            keys = keys.dropFirst(Self.scanCount)
            try connection.run(command)
        }
    }

    /// Walks `SCAN … MATCH <prefix>*`, calling `page` with each page's keys (possibly none), to
    /// the end or until `page` returns false.
    private func scanNamespace(_ page: ([[UInt8]]) throws -> Bool) throws {
        // The prefix is letters, digits, '_' and ':' (`StoreSettings.isValidPrefix`): no glob characters.
        var cursor = "0"
        repeat {
            let reply = try connection.run(RedisCommand("SCAN", cursor, "MATCH", keyPrefix + "*", "COUNT", String(Self.scanCount)), idempotent: true)
            guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].text, case .array(let keys) = parts[1] else {
                throw RedisError(command: "SCAN", message: "unexpected reply \(reply)")
            }
            cursor = next
            let names = keys.compactMap { key -> [UInt8]? in if case .string(let bytes) = key { return bytes } else { return nil } }
            guard try page(names) else { return }
        } while cursor != "0"
    }

    // MARK: - Checks on connecting

    private var metaCommand: RedisCommand {
        RedisCommand("HSET", metaKey, "projector", namespace.projector, "schema", String(schemaVersion))
    }

    /// Refuses a server without an append-only file (see the type's notes on durability).
    private func requireAppendOnlyFile() throws {
        let replies = try connection.pipeline([RedisCommand("CONFIG", "GET", "appendonly"), RedisCommand("CONFIG", "GET", "appendfsync")])
        let endpoint = connection.url.endpoint
        do {
            _ = try connection.checked(replies[0], from: "CONFIG")  // a server asking for a login, still loading …
        } catch let error as RedisError {
            let message = error.message
            throw ReadModelStoreError(
                "Redis at \(endpoint) refused CONFIG GET appendonly (\(message)): CONFIG is disabled, renamed or not allowed "
                    + "for this user, so the read model cannot check that the server keeps an append-only file, which it "
                    + "requires; allow CONFIG GET, and run redis-server with --appendonly yes", disconnected: true)
        }
        let setting = replies[0].array?.last?.text ?? ""
        appendfsync = replies[1].array?.last?.text
        guard setting == "yes" else {
            throw ReadModelStoreError(
                "Redis at \(endpoint) runs without an append-only file (appendonly \(setting.isEmpty ? "unknown" : setting)): a restart would "
                    + "lose the read model's writes; run redis-server with --appendonly yes (recommended: --appendfsync everysec), "
                    + "or CONFIG SET appendonly yes", disconnected: true)
        }
    }

    /// Checks that the namespace is this model's (see the type's notes), claiming it when empty.
    private func claimNamespace() throws {
        let endpoint = connection.url.endpoint
        let meta = try connection.run(RedisCommand("HGETALL", metaKey))
        var fields: [String: String] = [:]
        if let items = meta.array {
            for index in stride(from: 0, to: items.count - 1, by: 2) { fields[items[index].text ?? ""] = items[index + 1].text ?? "" }
        }
        guard !fields.isEmpty else {
            var foreign: [UInt8]?
            try scanNamespace { keys in
                foreign = keys.first
                return foreign == nil
            }
            if let foreign {
                throw ReadModelStoreError(
                    "Redis at \(endpoint) holds keys under \(keyPrefix) (e.g. \(String(decoding: foreign, as: UTF8.self))) but no \(metaKey) "
                        + "naming the \(namespace.projector) projector: they are not this read model's; delete them or choose another --store-prefix",
                    disconnected: true)
            }
            try connection.run(metaCommand)
            return
        }
        guard fields["projector"] == namespace.projector else {
            throw ReadModelStoreError(
                "Redis at \(endpoint): the keys under \(keyPrefix) belong to the \(fields["projector"] ?? "unnamed") projector's model "
                    + "(\(metaKey)), not the \(namespace.projector) projector's; choose another --store-prefix", disconnected: true)
        }
        if fields["schema"] != String(schemaVersion) {
            logger.notice(
                "redis read model of another layout: emptying it to rebuild from the log",
                metadata: ["redis.prefix": "\(keyPrefix)", "schema.found": "\(fields["schema"] ?? "none")", "schema.expected": "\(schemaVersion)"])
            try deleteNamespace()
            try connection.run(metaCommand)
        }
    }

    // MARK: - Statistics

    /// What `stats` shows (`readModel`): the server, the prefix, whether connected, the last
    /// error, and the server's persistence (`aof_enabled` from `INFO persistence`, `appendfsync`).
    /// Asks the server only when connected, and never reconnects for it, so that `stats` never
    /// waits for a server that is down.
    public var statistics: JSONValue {
        var aofEnabled: JSONValue = .null
        if connection.isConnected,
            let replies = try? connection.pipeline([RedisCommand("INFO", "persistence"), RedisCommand("CONFIG", "GET", "appendfsync")]),
            replies.allSatisfy({ $0.errorMessage == nil })
        {
            let line = replies[0].text?.split(whereSeparator: \.isNewline).first { $0.hasPrefix("aof_enabled:") }
            aofEnabled = line.map { .bool($0.hasSuffix(":1")) } ?? .null
            appendfsync = replies[1].array?.last?.text ?? appendfsync
        }
        return [
            "store": "redis", "server": .string(connection.url.endpoint), "database": .int(Int64(connection.url.database)),
            "prefix": .string(keyPrefix), "connected": .bool(connection.isConnected),
            "lastError": connection.lastError.map { .string($0) } ?? .null,
            "aofEnabled": aofEnabled, "appendfsync": appendfsync.map { .string($0) } ?? .null,
        ]
    }
}

import EventStore
import ProjectionRuntime
import RedisStore
import WireProtocol

/// The status model (`StatusProjection`'s events, queries and answers) kept in Redis
/// (`--store redis`), in the copy's namespace `<prefix>:status:g<n>:` (`RedisReadModel`):
///
/// | key | type | holds |
/// |---|---|---|
/// | `orders` | hash | order id → its status (one digit, `StatusOrderState`) followed by its user id |
/// | `user:<userId>` | list | the user's order ids in creation order |
/// | `meta`, `checkpoint` | hash, string | the namespace's owner and the last applied position |
///
/// One hash for every order costs far less memory than a key per order (no per-key overhead), and
/// a list keeps a user's orders in creation order, so `userOrders` is one `LRANGE` and one
/// `HMGET` — run together by a small read script, one round trip.
///
/// **A batch is one script.** A status change keeps the order's user, which only the stored
/// entry knows, so the batch cannot be written blind. Rather than read every order the batch
/// touches first (a second round trip, and a read-modify-write race with nothing else), the batch
/// goes as one `EVAL` of `applyScript` — the events as arguments, four each — inside the
/// `MULTI`/`EXEC` that also sets the checkpoint: one round trip, applied whole by the server.
/// `EVAL` carries the script's text (about 600 bytes, against ~40 bytes per event) rather than
/// `EVALSHA`: inside `MULTI`, an `EVALSHA` of a script the server forgot (a restart, a
/// `SCRIPT FLUSH`) fails only when `EXEC` runs, after which the checkpoint's `SET` would still be
/// applied — the batch lost. Redis hashes the text and reuses the compiled script.
///
/// The script skips events at or below the stored checkpoint, as the embedded model does, so a
/// batch sent twice (its first `EXEC` reply lost with the connection) changes nothing twice.
public final class RedisStatusProjection: Projection {
    public let category: String? = "order"
    public let queryNames = StatusQuery.names
    /// The key layout above; a namespace of another version is emptied and rebuilt.
    public static let schemaVersion = 1

    private let model: RedisReadModel
    private let ordersKey: String

    /// The copy in `directory` (a `generation-<n>` directory) on `settings`' Redis server.
    ///
    /// - Throws: `ReadModelStoreError` when `settings.redisURL` is missing or malformed; nothing
    ///   is sent to the server until the first call.
    public init(settings: StoreSettings, directory: String) throws {
        model = try RedisReadModel(settings: settings, projector: "status", directory: directory, schemaVersion: Self.schemaVersion)
        ordersKey = model.key("orders")
    }

    public func checkpoint() throws -> Int64 { try model.checkpoint() }

    public var lastCommitNanoseconds: Int64 { model.lastCommitNanoseconds }

    /// ARGV: the key prefix, then per event its position, status digit, order id and user id.
    static let applyScript = """
        local prefix = ARGV[1]
        local orders = prefix .. 'orders'
        local checkpoint = tonumber(redis.call('GET', prefix .. 'checkpoint') or '0')
        for i = 2, #ARGV, 4 do
          if tonumber(ARGV[i]) > checkpoint then
            local order = ARGV[i + 2]
            local entry = redis.call('HGET', orders, order)
            if entry then
              redis.call('HSET', orders, order, ARGV[i + 1] .. string.sub(entry, 2))
            else
              redis.call('HSET', orders, order, ARGV[i + 1] .. ARGV[i + 3])
              redis.call('RPUSH', prefix .. 'user:' .. ARGV[i + 3], order)
            end
          end
        end
        """

    /// KEYS: the user's list, the orders hash; ARGV: the limit. Returns order id, entry, … .
    static let userOrdersScript = """
        local ids = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
        if #ids == 0 then return {} end
        local entries = redis.call('HMGET', KEYS[2], unpack(ids))
        local result = {}
        for i, id in ipairs(ids) do
          result[2 * i - 1] = id
          result[2 * i] = entries[i]
        end
        return result
        """

    /// Applies `events` and moves the checkpoint to `position` in one round trip (see the type's notes).
    public func apply(_ events: [RecordedEvent], through position: Int64) throws {
        var script = RedisCommand("EVAL", Self.applyScript, "0", model.keyPrefix)
        for event in events {
            guard let change = StatusChange(event) else { continue }
            script.append(event.position)
            script.append(String(change.status.rawValue))
            script.append(change.orderId)
            script.append(change.userId)
        }
        try model.apply(script.argumentCount > 4 ? [script] : [], through: position)
    }

    /// Answers `orderStatus` or `userOrders` exactly as `StatusProjection` does.
    ///
    /// - Throws: `WireError` `.unknownQuery` or `.invalidArgument` as `StatusProjection`;
    ///   `.unavailable` while the server cannot be reached.
    public func query(_ name: String, params: JSONValue) throws -> JSONValue {
        let query = try StatusQuery(name, params: params)
        return try model.answering {
            switch query {
            case .orderStatus(let orderId):
                let entry = try model.read([RedisCommand("HGET", ordersKey, orderId)])[0]
                return StatusQuery.orderStatusAnswer(orderId: orderId, entry == .null ? nil : try Self.entry(entry, orderId))
            case .userOrders(let userId, let limit):
                let command = RedisCommand("EVAL", Self.userOrdersScript, "2", model.key("user:\(userId)"), ordersKey, String(limit))
                let items = try model.read([command])[0].array ?? []
                let orders = try stride(from: 0, to: items.count - 1, by: 2).map { index in
                    let orderId = items[index].text ?? ""
                    return (orderId, try Self.entry(items[index + 1], orderId).status)
                }
                return StatusQuery.userOrdersAnswer(userId: userId, orders)
            }
        }
    }

    /// Decodes an `orders` hash entry: the status digit, then the user id.
    private static func entry(_ value: RedisValue, _ orderId: String) throws -> StatusOrderEntry {
        guard case .string(let bytes) = value, let digit = bytes.first, digit >= UInt8(ascii: "0"),
            let status = StatusOrderState(rawValue: digit - UInt8(ascii: "0"))
        else { throw RedisError(command: "HGET", message: "the orders entry of \(orderId) is \(value), not a status and a user id") }
        return StatusOrderEntry(status: status, userId: String(decoding: bytes.dropFirst(), as: UTF8.self))
    }

    public func digest() throws -> String { try model.digest() }

    public func reset() throws { try model.reset() }

    public func close() throws { model.close() }

    public func discard() throws { try model.discard() }

    public var statistics: JSONValue? { model.statistics }
}

import EventStore
import Foundation
import OrdersReadModels
import ProjectionRuntime
import RedisStore
import TestSupport
import Testing
import WireProtocol

/// The status model in a real Redis (`scripts/store-server redis`): the same answers as the
/// embedded model from the same events, its checkpoint in the server, a crash of the server.
@Suite struct RedisStatusProjectionTests {
    /// The status model's copy `generation` on `server`.
    static func open(_ server: RedisServer, _ directory: String, generation: Int = 1) throws -> RedisStatusProjection {
        try RedisStatusProjection(settings: StoreSettings(kind: .redis, redisURL: server.url), directory: directory + "/generation-\(generation)")
    }

    /// Sends one command to `server` on a connection of its own, e.g. to change its configuration.
    private func runRedisCommand(_ server: RedisServer, _ arguments: String...) throws -> RedisValue {
        try RedisConnection(url: RedisURL(parsing: server.url)).run(RedisCommand(arguments))
    }

    private func withServer(_ body: (RedisServer, String) throws -> Void) throws {
        try withTemporaryDirectory { directory in
            try body(try RedisServer(directory: directory), directory)
        }
    }

    /// The sample log, then 600 orders over 40 users with every kind of change, and a few
    /// malformed events the models must both ignore.
    private func mixedLog() -> HistoryStatusTestLog {
        var log = HistoryStatusTestLog.statusSample()
        for index in 0..<600 {
            let user = "user-\(index % 40)"
            log.create("order-\(index)", user: user, cents: Int64(index))
            if index % 3 == 0 { log.pay("order-\(index / 2)", user: "user-\((index / 2) % 40)") }
            if index % 5 == 0 { log.ship("order-\(index / 3)", user: "user-\((index / 3) % 40)") }
            if index % 11 == 0 { log.cancel("order-\(index / 4)", user: "user-\((index / 4) % 40)") }
        }
        log.appendRaw(stream: "order-x", type: "PaymentConfirmed", data: Array(#"{"orderId":"order-1"}"#.utf8))  // no userId
        log.appendRaw(stream: "order-x", type: "OrderShipped", data: Array(#"{"orderId":7,"userId":"user-1"}"#.utf8))
        log.pay("fresh", user: "user-new")  // an order first seen by a status change
        log.create("fresh", user: "user-other")  // its user stays the first event's
        return log
    }

    private func answers(_ projection: any Projection, orders: [String], users: [String]) throws -> [JSONValue] {
        var results: [JSONValue] = []
        for orderId in orders { results.append(try projection.query("orderStatus", params: ["orderId": .string(orderId)])) }
        for userId in users {
            results.append(try projection.query("userOrders", params: ["userId": .string(userId)]))
            for limit: Int64 in [1, 2, 1000] {
                results.append(try projection.query("userOrders", params: ["userId": .string(userId), "limit": .int(limit)]))
            }
        }
        return results
    }

    @Test(arguments: [[1000], [1, 7, 300]])
    func answersLikeTheEmbeddedModel(sizes: [Int]) throws {
        try withServer { server, directory in
            let log = mixedLog()
            let embedded = try StatusProjection(directory: directory + "/embedded")
            try applyInBatches(embedded, log.orderEvents, sizes: [100])
            let redis = try Self.open(server, directory)
            try applyInBatches(redis, log.orderEvents, sizes: sizes)
            #expect(try redis.checkpoint() == embedded.checkpoint())
            let orders = ["o1", "o2", "o3", "o4", "o5", "o9", "fresh", "nothing"] + (0..<600).map { "order-\($0)" }
            let users = ["u1", "u2", "user-new", "user-other", "nobody"] + (0..<40).map { "user-\($0)" }
            let expected = try answers(embedded, orders: orders, users: users)
            let actual = try answers(redis, orders: orders, users: users)
            #expect(actual.count == expected.count)
            for (actual, expected) in zip(actual, expected) where actual != expected {
                Issue.record("Redis answered \(actual.jsonString), the embedded model \(expected.jsonString)")
            }
            #expect(try embedded.query("userOrders", params: ["userId": "user-3"])["orders"]?.arrayValue?.count == 15)
        }
    }

    @Test func aUserWithMoreThanTheLimitGetsTheFirstOrders() throws {
        try withServer { server, directory in
            var log = HistoryStatusTestLog()
            for index in 0..<1100 { log.create("o\(index)", user: "u1") }
            let embedded = try StatusProjection(directory: directory + "/embedded")
            try embedded.apply(log.events, through: log.lastPosition)
            let redis = try Self.open(server, directory)
            try redis.apply(log.events, through: log.lastPosition)
            #expect(try answers(redis, orders: [], users: ["u1"]) == answers(embedded, orders: [], users: ["u1"]))
        }
    }

    @Test(arguments: statusInvalidParams)
    func invalidParamsGetTheEmbeddedModelsErrors(query: String, params: JSONValue, message: String) throws {
        try withServer { server, directory in
            let redis = try Self.open(server, directory)
            #expect(queryError(redis, query, params) == WireError(.invalidArgument, message))
            #expect(queryError(redis, "x", [:]) == WireError(.unknownQuery, "unknown query 'x' (status answers: orderStatus, userOrders)"))
            #expect(redis.queryNames == ["orderStatus", "userOrders"])
        }
    }

    @Test func aRebuildEqualsTheLiveModel() throws {
        try withServer { server, directory in
            let log = mixedLog()
            let live = try Self.open(server, directory, generation: 1)
            try applyInBatches(live, log.orderEvents, sizes: [3, 50, 1, 200])
            let rebuilt = try Self.open(server, directory, generation: 2)
            try rebuilt.apply(log.orderEvents, through: log.lastPosition)
            #expect(try rebuilt.digest() == live.digest())

            var changed = log
            changed.cancel("order-599", user: "user-39")
            let other = try Self.open(server, directory, generation: 3)
            try other.apply(changed.orderEvents, through: changed.lastPosition)
            #expect(try other.digest() != live.digest())

            try live.reset()
            #expect(try live.checkpoint() == 0)
            #expect(try live.query("orderStatus", params: ["orderId": "o1"]) == .null)
            try live.apply(log.orderEvents, through: log.lastPosition)
            #expect(try live.digest() == rebuilt.digest())
        }
    }

    @Test func aBatchSentTwiceChangesNothingTwice() throws {
        try withServer { server, directory in
            let log = HistoryStatusTestLog.statusSample()
            let redis = try Self.open(server, directory)
            try redis.apply(log.orderEvents, through: log.lastPosition)
            let once = try redis.digest()
            try redis.apply(log.orderEvents, through: log.lastPosition)  // as after a lost EXEC reply
            #expect(try redis.digest() == once)
            #expect(try redis.query("userOrders", params: ["userId": "u1"])["orders"]?.arrayValue?.count == 3)
        }
    }

    @Test func queriesWhileTheServerIsDownAreUnavailable() throws {
        try withServer { server, directory in
            let log = HistoryStatusTestLog.statusSample()
            let redis = try Self.open(server, directory)
            try redis.apply(log.orderEvents, through: log.lastPosition)
            server.kill()
            let error = queryError(redis, "orderStatus", ["orderId": "o1"])
            #expect(error?.code == .unavailable)
            #expect(error?.message.contains("127.0.0.1:\(server.port)") == true, "\(String(describing: error))")
            #expect(redis.statistics?["connected"] == false)
            try server.start()
            #expect(try redis.query("orderStatus", params: ["orderId": "o1"]) == ["orderId": "o1", "status": "shipped", "userId": "u1"])
        }
    }

    /// A server killed with SIGKILL comes back from its AOF with the model and its checkpoint
    /// together. With `appendfsync always` that is the last batch `EXEC` acknowledged; with
    /// `everysec` (the recommended setting) it may be a little older — Redis defers an AOF write
    /// while a background fsync is slow, up to 2 s, and still replies — and replaying the events
    /// after the checkpoint catches it up exactly.
    @Test(arguments: ["always", "everysec"])
    func aKilledServerComesBackWithTheModelAndItsCheckpointTogether(appendfsync: String) throws {
        try withServer { server, directory in
            let events = mixedLog().orderEvents
            let redis = try Self.open(server, directory)
            try redis.apply([], through: 0)  // connects, so that CONFIG SET goes to the same server
            _ = try runRedisCommand(server, "CONFIG", "SET", "appendfsync", appendfsync)
            try applyInBatches(redis, events, sizes: [7])
            let acknowledged = events.last!.position
            server.kill()
            #expect(throws: ReadModelStoreError.self) { try redis.apply([], through: acknowledged + 1) }
            try server.start()
            let checkpoint = try redis.checkpoint()
            if appendfsync == "always" { #expect(checkpoint == acknowledged) } else { #expect(checkpoint <= acknowledged) }
            let reference = try Self.open(server, directory, generation: 2)
            try reference.apply(events.filter { $0.position <= checkpoint }, through: checkpoint)
            #expect(try redis.digest() == reference.digest(), "the model is not the one of its checkpoint \(checkpoint)")
            try redis.apply(events.filter { $0.position > checkpoint }, through: acknowledged)
            try reference.apply(events.filter { $0.position > checkpoint }, through: acknowledged)
            #expect(try redis.digest() == reference.digest())
        }
    }

    @Test func statisticsNameTheServerAndItsPersistence() throws {
        try withServer { server, directory in
            let redis = try Self.open(server, directory)
            try redis.apply([], through: 1)
            let statistics = try #require(redis.statistics)
            #expect(statistics["server"] == .string("127.0.0.1:\(server.port)"))
            #expect(statistics["prefix"] == "prism:status:g1:")
            #expect(statistics["connected"] == true)
            #expect(statistics["aofEnabled"] == true)
            #expect(statistics["appendfsync"] == "everysec")
        }
    }

    @Test func theOpenerNeedsAURL() throws {
        let error = #expect(throws: ReadModelStoreError.self) {
            try OrdersProjectors.status.opener(for: StoreSettings(kind: .redis))("/tmp/generation-1")
        }
        #expect(error?.message == "the status projector's Redis store needs --redis-url (or PRISM_REDIS_URL)")
    }
}

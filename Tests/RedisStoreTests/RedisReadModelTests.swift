import Foundation
import ProjectionRuntime
import RedisStore
import TestSupport
import Testing

/// `RedisReadModel` and `RedisConnection` against a real redis-server (`scripts/store-server`).
@Suite struct RedisReadModelTests {
    /// A model of `projector` in generation `generation` under the `prism` prefix.
    private func model(_ server: RedisServer, projector: String = "status", generation: Int = 1, url: String? = nil, schema: Int = 1) throws -> RedisReadModel {
        try RedisReadModel(
            url: url ?? server.url, namespace: StoreNamespace(prefix: "prism", projector: projector, generation: generation), schemaVersion: schema)
    }

    /// A plain client for arranging the server behind the model's back.
    private func client(_ server: RedisServer) throws -> RedisConnection {
        RedisConnection(url: try RedisURL(parsing: server.url))
    }

    private func push(_ value: String, to model: RedisReadModel) -> RedisCommand {
        RedisCommand("RPUSH", model.key("list"), value)
    }

    private func storeError(_ body: () throws -> Void) -> ReadModelStoreError? {
        do {
            try body()
            return nil
        } catch {
            return error as? ReadModelStoreError
        }
    }

    @Test func appliesBatchesWithTheirCheckpoint() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let model = try model(server)
            #expect(try model.checkpoint() == 0)
            try model.apply([push("a", to: model), push("b", to: model)], through: 2)
            try model.apply([], through: 5)  // only the checkpoint moves
            #expect(try model.checkpoint() == 5)
            #expect(try model.read([RedisCommand("LRANGE", model.key("list"), "0", "-1")])[0] == .array([.string(Array("a".utf8)), .string(Array("b".utf8))]))
            let meta = try client(server).run(RedisCommand("HGETALL", model.key("meta")))
            #expect(meta.array?.compactMap(\.text) == ["projector", "status", "schema", "1"])
        }
    }

    @Test func aBatchRefusedWhileQueuedAppliesNothing() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let model = try model(server)
            try model.apply([push("a", to: model)], through: 1)
            let error = #expect(throws: RedisError.self) {
                try model.apply([push("b", to: model), RedisCommand("RPUSH", model.key("list"))], through: 2)
            }
            #expect(error?.message.contains("wrong number of arguments") == true, "\(String(describing: error))")
            #expect(try model.checkpoint() == 1)
            #expect(try model.read([RedisCommand("LLEN", model.key("list"))])[0] == .integer(1))
        }
    }

    @Test func aBatchAfterAnotherWriterChangedTheWatchedCheckpointIsRefused() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let model = try model(server)
            try model.apply([], through: 1)
            _ = try model.readForBatch([])
            try client(server).run(RedisCommand("SET", model.key("checkpoint"), "9"))
            let error = storeError { try model.apply([push("a", to: model)], through: 2) }
            #expect(error?.disconnected == false)
            #expect(error?.message.contains("another client wrote prism:status:g1:checkpoint since it was watched") == true, "\(String(describing: error))")
            #expect(try model.checkpoint() == 9)
            #expect(try model.read([RedisCommand("EXISTS", model.key("list"))])[0] == .integer(0))
        }
    }

    @Test func noServerIsADisconnectionNamingIt() throws {
        let port = freeTCPPort()
        let model = try RedisReadModel(url: "redis://127.0.0.1:\(port)", namespace: StoreNamespace(prefix: "prism", projector: "status", generation: 1), schemaVersion: 1)
        let error = storeError { _ = try model.checkpoint() }
        #expect(error?.disconnected == true)
        #expect(error?.message == "cannot connect to Redis at 127.0.0.1:\(port): Connection refused")
        #expect(model.statistics["connected"] == false)
        #expect(model.statistics["lastError"]?.stringValue == error?.message)
    }

    @Test func aWrongPasswordIsADisconnectionNamingTheCause() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory, password: "secret")
            let wrong = try model(server, url: "redis://:wrong@127.0.0.1:\(server.port)")
            let error = storeError { _ = try wrong.checkpoint() }
            #expect(error?.disconnected == true)
            #expect(error?.message.hasPrefix("Redis at 127.0.0.1:\(server.port) refused the login: WRONGPASS") == true, "\(String(describing: error))")
            let none = try model(server, url: "redis://127.0.0.1:\(server.port)")
            let refused = storeError { _ = try none.checkpoint() }
            #expect(refused?.disconnected == true)
            #expect(refused?.message.contains("NOAUTH") == true, "\(String(describing: refused))")
            #expect(try model(server).checkpoint() == 0)
        }
    }

    @Test func aServerWithoutAnAppendOnlyFileIsRefused() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            try client(server).run(RedisCommand("CONFIG", "SET", "appendonly", "no"))
            let model = try model(server)
            let error = storeError { _ = try model.checkpoint() }
            #expect(error?.disconnected == true)
            #expect(error?.message.hasPrefix("Redis at 127.0.0.1:\(server.port) runs without an append-only file (appendonly no)") == true)
            #expect(error?.message.contains("--appendonly yes") == true)
            // Turned back on, the same model connects.
            try client(server).run(RedisCommand("CONFIG", "SET", "appendonly", "yes"))
            #expect(try model.checkpoint() == 0)
            #expect(model.statistics["aofEnabled"] == true)
            #expect(model.statistics["appendfsync"] == "everysec")
        }
    }

    @Test func aUserWithoutCONFIGIsRefusedSayingSo() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            try client(server).run(RedisCommand("ACL", "SETUSER", "limited", "on", ">pw", "~*", "+@all", "-config"))
            let model = try model(server, url: "redis://limited:pw@127.0.0.1:\(server.port)")
            let error = storeError { _ = try model.checkpoint() }
            #expect(error?.disconnected == true)
            #expect(
                error?.message.hasPrefix("Redis at 127.0.0.1:\(server.port) refused CONFIG GET appendonly (NOPERM") == true,
                "\(String(describing: error))")
            #expect(error?.message.contains("CONFIG is disabled, renamed or not allowed for this user") == true)
            // The same user with CONFIG GET allowed logs in as `limited` and passes the check.
            try client(server).run(RedisCommand("ACL", "SETUSER", "limited", "+config|get"))
            #expect(try model.checkpoint() == 0)
        }
    }

    @Test func keysThatAreNotOursAreRefused() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let client = try client(server)
            try client.run(RedisCommand("SET", "prism:status:g1:stray", "x"))
            let error = storeError { _ = try model(server).checkpoint() }
            #expect(error?.disconnected == true)
            #expect(
                error?.message == "Redis at 127.0.0.1:\(server.port) holds keys under prism:status:g1: (e.g. prism:status:g1:stray) but no "
                    + "prism:status:g1:meta naming the status projector: they are not this read model's; delete them or choose another --store-prefix")

            let orders = try model(server, projector: "orders", generation: 2)
            try orders.apply([], through: 1)
            let other = try model(server, projector: "status", generation: 2)
            _ = try client.run(RedisCommand("RENAME", "prism:orders:g2:meta", "prism:status:g2:meta"))
            let claimed = storeError { _ = try other.checkpoint() }
            #expect(claimed?.message.contains("the keys under prism:status:g2: belong to the orders projector's model") == true, "\(String(describing: claimed))")
        }
    }

    @Test func aNamespaceOfAnotherLayoutIsEmptied() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let old = try model(server, schema: 1)
            try old.apply([push("a", to: old)], through: 7)
            let new = try model(server, schema: 2)
            #expect(try new.checkpoint() == 0)
            #expect(try new.read([RedisCommand("EXISTS", new.key("list"))])[0] == .integer(0))
        }
    }

    @Test func discardDeletesOnlyItsNamespace() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let g1 = try model(server, generation: 1)
            let g10 = try model(server, generation: 10)
            let orders = try model(server, projector: "orders", generation: 1)
            for model in [g1, g10, orders] { try model.apply([push("a", to: model)], through: 1) }
            let client = try client(server)
            try client.run(RedisCommand("SET", "unrelated", "1"))
            try g1.discard()
            let keys = try client.run(RedisCommand("KEYS", "*")).array?.compactMap(\.text).sorted()
            #expect(keys == [
                "prism:orders:g1:checkpoint", "prism:orders:g1:list", "prism:orders:g1:meta",
                "prism:status:g10:checkpoint", "prism:status:g10:list", "prism:status:g10:meta", "unrelated",
            ])
        }
    }

    @Test func resetEmptiesTheModelAndKeepsItsClaim() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let model = try model(server)
            let empty = try model.digest()
            try model.apply([push("a", to: model)], through: 3)
            #expect(try model.digest() != empty)
            try model.reset()
            #expect(try model.checkpoint() == 0)
            #expect(try model.digest() == empty)
            #expect(try client(server).run(RedisCommand("EXISTS", model.key("meta"))) == .integer(1))
        }
    }

    /// A server killed with SIGKILL and restarted on its directory comes back from its AOF with
    /// every acknowledged transaction when it fsyncs each one (`appendfsync always`): the
    /// checkpoint is the last one `EXEC` acknowledged, and the model holds exactly the batches up
    /// to it. (With `everysec` it may come back a little older: see `RedisStatusProjectionTests`.)
    @Test func killedServerComesBackWithEveryAcknowledgedBatch() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            try client(server).run(RedisCommand("CONFIG", "SET", "appendfsync", "always"))
            let model = try model(server)
            var acknowledged: Int64 = 0
            for batch in 1...200 {
                try model.apply((0..<5).map { push("\(batch).\($0)", to: model) }, through: Int64(batch))
                acknowledged = Int64(batch)
            }
            server.kill()
            let down = storeError { _ = try model.checkpoint() }
            #expect(down?.disconnected == true)
            #expect(model.statistics["connected"] == false)
            try server.start()
            // The model reconnects by itself; the checkpoint is read from the server.
            #expect(try model.checkpoint() == acknowledged)
            #expect(try model.read([RedisCommand("LLEN", model.key("list"))])[0] == .integer(acknowledged * 5))
            try model.apply([push("after", to: model)], through: acknowledged + 1)
            #expect(try model.checkpoint() == acknowledged + 1)
        }
    }

    @Test func aConnectionLostWhileIdleIsReopenedForReads() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let model = try model(server)
            try model.apply([], through: 4)
            server.stop()  // SIGTERM: Redis writes its AOF out before it exits
            try server.start()  // the model's open connection is now dead
            #expect(try model.checkpoint() == 4)
        }
    }

    @Test func binarySafeArguments() throws {
        try withTemporaryDirectory { directory in
            let server = try RedisServer(directory: directory)
            let connection = try client(server)
            var set = RedisCommand("SET", "binary")
            let bytes: [UInt8] = [0, 13, 10, 255, 32]
            set.append(bytes)
            try connection.run(set)
            #expect(try connection.run(RedisCommand("GET", "binary")) == .string(bytes))
            #expect(throws: RedisError(command: "INCR", message: "ERR value is not an integer or out of range")) {
                try connection.run(RedisCommand("INCR", "binary"))
            }
        }
    }
}

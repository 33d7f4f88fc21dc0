import EventStore
import Foundation
import OrdersReadModels
import ProjectionRuntime
import TestSupport
import Testing
import WireProtocol

/// The shared query suite: every projector on every store it has, built from the same events,
/// asked the same queries, against real PostgreSQL and Redis servers.
///
/// Orders, status and history must answer identically (the same JSON, errors included). Search
/// must find the same hits for the same text, status and limit; its `score` and `snippet` come from
/// each engine's own ranking and highlighting (bm25 in FTS5, `ts_rank_cd` in PostgreSQL), so the
/// suite compares the hits' order ids as sets and the rest of each hit exactly (docs/STORES.md).
@Suite(.serialized) struct StoreEquivalenceTests {
    @Test(arguments: OrdersProjectors.all.map(\.name))
    func everyStoreAnswersAsTheEmbeddedModel(projector name: String) throws {
        let definition = OrdersProjectors.all.first { $0.name == name }!
        let log = Self.log()
        let queries = Self.queries(name, log)
        #expect(definition.storeKinds.count > 1, "the \(name) projector runs on no store but the embedded one")
        var compared = 0
        try withTemporaryDirectory { path in
            let embedded = try Self.build(definition, StoreSettings(), path + "/embedded/generation-1", log.events)
            defer { try? embedded.close() }
            for kind in definition.storeKinds where kind != .embedded {
                try Self.withServer(kind, path) { settings in
                    let model = try Self.build(definition, settings, path + "/\(kind)/generation-1", log.events)
                    defer { try? model.close() }
                    for (query, params) in queries {
                        let expected = Self.answer(embedded, query, params)
                        let actual = Self.answer(model, query, params)
                        if name == "search", expected["result"] != nil {
                            Self.expectSameHits(actual, expected, embedded: embedded, params: params, "\(kind) \(params.jsonString)")
                        } else {
                            #expect(actual == expected, "\(kind) \(query) \(params.jsonString)")
                        }
                        compared += 1
                    }
                    // Rebuild equals live on this store: the next generation, in other batches.
                    let rebuilt = try Self.build(definition, settings, path + "/\(kind)/generation-2", log.events, batches: [1, 7, 500])
                    defer { try? rebuilt.close() }
                    #expect(try rebuilt.digest() == model.digest(), "\(kind): a rebuild's digest differs from the live copy's")
                    #expect(try rebuilt.checkpoint() == log.position)
                }
            }
        }
        #expect(compared >= queries.count)
    }

    /// An answer as a reply would carry it: `{"result": …}` or `{"error": {code, message}}`.
    static func answer(_ model: any Projection, _ name: String, _ params: JSONValue) -> JSONValue {
        do {
            return ["result": try model.query(name, params: params)]
        } catch let error as WireError {
            return ["error": ["code": .string(error.code.rawValue), "message": .string(error.message)]]
        } catch {
            return ["error": ["code": "Internal", "message": .string("\(error)")]]
        }
    }

    /// The same hits: all of them when they fit the limit; when the limit cut them, as many, each
    /// one of those the text and status match (which one is cut depends on the ranking).
    static func expectSameHits(_ actual: JSONValue, _ expected: JSONValue, embedded: any Projection, params: JSONValue,
                               _ comment: String) {
        let actualHits = hitsWithoutRanking(actual["result"])
        let expectedHits = hitsWithoutRanking(expected["result"])
        guard case .object(var members) = params, let limit = params["limit"]?.intValue, expectedHits.count == limit else {
            #expect(actualHits == expectedHits, Comment(rawValue: comment))
            return
        }
        members["limit"] = 100
        let all = hitsWithoutRanking(answer(embedded, "search", .object(members))["result"])
        #expect(all.count < 100 && all.count > limit, "the suite's data must let every match of \(comment) fit in one reply")
        #expect(actualHits.count == limit && actualHits.isSubset(of: all), Comment(rawValue: comment))
    }

    /// Search hits with their ranking left out: each hit without `score` and `snippet`, as a set.
    static func hitsWithoutRanking(_ result: JSONValue?) -> Set<String> {
        guard case .some(.array(let hits)) = result?["hits"] else { return [] }
        return Set(hits.map { hit -> String in
            guard case .object(var members) = hit else { return hit.jsonString }
            members["score"] = nil
            members["snippet"] = nil
            return JSONValue.object(members).jsonString
        })
    }

    static func build(_ definition: ProjectorDefinition, _ settings: StoreSettings, _ directory: String,
                      _ events: [RecordedEvent], batches: [Int] = [3, 50, 1000]) throws -> any Projection {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let model = try definition.opener(for: settings)(directory)
        // What the projector's feed would give it: its category's events.
        let wanted = events.filter { event in model.category.map { event.stream.hasPrefix($0 + "-") } ?? true }
        try applyInBatches(model, wanted, sizes: batches)
        // A filtered feed ends on the log's last position, event or not.
        try model.apply([], through: events.last!.position)
        try model.reachedHead()
        return model
    }

    /// Runs `body` with a fresh server of `kind` and the settings that point at it.
    static func withServer(_ kind: StoreKind, _ path: String, _ body: (StoreSettings) throws -> Void) throws {
        switch kind {
        case .embedded:
            try body(StoreSettings())
        case .postgres:
            let server = try PostgresServer()
            try body(StoreSettings(kind: .postgres, postgresURL: server.url(), prefix: "suite"))
        case .redis:
            let server = try RedisServer(directory: path + "/redis-server")
            try body(StoreSettings(kind: .redis, redisURL: server.url, prefix: "suite"))
        }
    }

    // MARK: - The events

    static let states = ["California", "Ohio", "Utah", "São Paulo"]
    static let words = ["red", "Running", "shoes", "café", "CAFE", "naïve", "résumé", "wool", "42", "trail", "Über", "lamp", "blue", "jacket", "hat", "socks"]

    /// Users in four states (one moves twice), 240 orders over 26 months with descriptions of three
    /// words (case and diacritics varied), paid, shipped and cancelled, and events every model must ignore.
    static func log() -> OrdersEventLog {
        var log = OrdersEventLog()
        var random = SeededGenerator(seed: 10)
        for user in 0..<24 { log.register("u\(user)", name: "User \(user)", state: states[user % states.count]) }
        let start = utcNanoseconds(2024, 11, 20)
        let day: Int64 = 86_400_000_000_000
        for order in 0..<240 {
            let description = (0..<3).map { _ in words[Int.random(in: 0..<words.count, using: &random)] }.joined(separator: " ")
            // Amounts repeat, so ordering by amount needs its tie-break.
            log.append(stream: "order-o\(order)", type: "OrderCreated", data: [
                "orderId": .string("o\(order)"), "userId": .string("u\(order % 24)"),
                "amountCents": .int(Int64(100 * Int.random(in: 1...20, using: &random))),
                "description": .string(description), "status": "payment_pending",
            ], at: start + Int64(order) * 3 * day + Int64(order % 5) * 1_000)
            if order == 120 { log.move("u3", from: "Ohio", to: "California") }
        }
        for order in stride(from: 0, to: 240, by: 2) { log.pay("o\(order)", user: "u\(order % 24)") }
        for order in stride(from: 0, to: 240, by: 6) { log.ship("o\(order)", user: "u\(order % 24)") }
        for order in stride(from: 1, to: 240, by: 7) { log.cancel("o\(order)", user: "u\(order % 24)") }
        log.move("u3", from: "California", to: "Utah")
        // Ignored everywhere: missing or mistyped fields, an unknown type, an unknown order's payment.
        log.append(stream: "order-bad1", type: "OrderCreated", data: ["orderId": "bad1", "userId": "u1", "amountCents": "12", "description": "red"])
        log.append(stream: "order-bad2", type: "OrderCreated", data: ["orderId": "bad2", "amountCents": 12, "description": "red"])
        log.append(stream: "order-o5", type: "OrderRefunded", data: ["orderId": "o5"])
        log.pay("nobody", user: "u1")
        log.append(stream: "odd-1", type: "OrderCreated", data: ["orderId": .int(7)])
        return log
    }

    // MARK: - The queries

    static func queries(_ projector: String, _ log: OrdersEventLog) -> [(String, JSONValue)] {
        let users: [JSONValue] = ["u0", "u3", "u7", "u23", "nobody"]
        let orders: [JSONValue] = ["o0", "o1", "o5", "o6", "o239", "bad1", "nobody"]
        var cases: [(String, JSONValue)] = [("unknownQuery", [:])]
        switch projector {
        case "orders":
            for order in orders { cases.append(("order", ["orderId": order])) }
            for status in ["payment_pending", "paid", "shipped", "cancelled"] {
                for state: JSONValue? in [nil, "California", "São Paulo", "Nowhere"] {
                    for sort: JSONValue in ["amountDesc", "amountAsc"] {
                        for (limit, offset) in [(5, 0), (5, 5), (50, 0), (1000, 0), (3, 100_000)] {
                            var params: [String: JSONValue] = ["status": .string(status), "order": sort, "limit": .int(Int64(limit)), "offset": .int(Int64(offset))]
                            params["userState"] = state
                            cases.append(("ordersByStatus", .object(params)))
                        }
                    }
                }
                cases.append(("ordersByStatus", ["status": .string(status)]))
            }
            for user in users {
                cases.append(("ordersByUser", ["userId": user]))
                cases.append(("ordersByUser", ["userId": user, "limit": 3, "offset": 2]))
            }
            for state: JSONValue? in [nil, "California", "Utah", "Nowhere"] {
                cases.append(("countByStatus", state.map { ["userState": $0] } ?? [:]))
            }
            cases += [
                ("order", [:]), ("order", ["orderId": 5]), ("ordersByStatus", ["status": "lost"]),
                ("ordersByStatus", ["status": "paid", "limit": 0]), ("ordersByStatus", ["status": "paid", "limit": 1001]),
                ("ordersByStatus", ["status": "paid", "offset": -1]), ("ordersByStatus", ["status": "paid", "order": "amount"]),
                ("ordersByUser", ["limit": 3]), ("countByStatus", ["userState": 3]),
            ]
        case "status":
            for order in orders { cases.append(("orderStatus", ["orderId": order])) }
            for user in users {
                cases.append(("userOrders", ["userId": user]))
                cases.append(("userOrders", ["userId": user, "limit": 1]))
                cases.append(("userOrders", ["userId": user, "limit": 1000]))
            }
            cases += [("orderStatus", [:]), ("userOrders", ["userId": "u1", "limit": 0]), ("userOrders", ["userId": "u1", "limit": "2"])]
        case "history":
            for user in users {
                cases.append(("monthly", ["userId": user, "from": "2024-11", "to": "2027-01"]))
                cases.append(("monthly", ["userId": user, "from": "2025-02", "to": "2025-02"]))
                cases.append(("monthly", ["userId": user, "from": "2025-12", "to": "2026-03"]))
            }
            cases += [
                ("monthly", ["userId": "u1"]), ("monthly", ["userId": "u1", "from": "2025-13", "to": "2026-01"]),
                ("monthly", ["userId": "u1", "from": "2026-01", "to": "2025-01"]), ("monthly", ["userId": "u1", "from": "2000-01", "to": "2030-01"]),
            ]
        case "search":
            for text in ["red", "RED shoes", "cafe", "Café", "CAFÉ", "naive", "resume résumé", "uber", "42", "wool trail lamp", "nothing-here", "shoes café"] {
                cases.append(("search", ["text": .string(text), "limit": 100]))
                for status in ["paid", "cancelled"] { cases.append(("search", ["text": .string(text), "status": .string(status), "limit": 100])) }
            }
            cases += [
                ("search", ["text": "red", "limit": 3]), ("search", [:]), ("search", ["text": "!!!"]),
                ("search", ["text": "red", "limit": 101]), ("search", ["text": "red", "status": "lost"]),
                ("search", ["text": .string(String(repeating: "a", count: 201))]),
            ]
        default:
            break
        }
        return cases
    }
}

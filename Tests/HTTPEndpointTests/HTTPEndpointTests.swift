import Foundation
import HTTPEndpoint
import Testing

@Suite struct HTTPAddressTests {
    @Test func aPortAloneIsLoopback() throws {
        let address = try HTTPAddress(parsing: "9101")
        #expect(address == HTTPAddress(host: "127.0.0.1", port: 9101))
        #expect(address.isLoopback)
    }

    @Test func hostsAndIPv6() throws {
        #expect(try HTTPAddress(parsing: "0.0.0.0:80") == HTTPAddress(host: "0.0.0.0", port: 80))
        #expect(try !HTTPAddress(parsing: "0.0.0.0:80").isLoopback)
        #expect(try HTTPAddress(parsing: "[::1]:9101") == HTTPAddress(host: "::1", port: 9101))
        #expect(try HTTPAddress(parsing: "[::1]:9101").description == "[::1]:9101")
        #expect(try HTTPAddress(parsing: "localhost:1").isLoopback)
    }

    @Test(arguments: ["", ":", "host:", ":80", "host:99999", "host:-1", "a b:80", "::1:80", "[::1]80", "host:8o", "tcp://x:1"])
    func malformedAddressesNameTheProblem(text: String) {
        #expect(throws: HTTPAddressError.self) { try HTTPAddress(parsing: text) }
    }
}

@Suite struct HTTPEndpointTests {
    private func endpoint(_ routes: [String: HTTPRoute]) throws -> HTTPEndpoint {
        try HTTPEndpoint(address: HTTPAddress(host: "127.0.0.1", port: 0), routes: routes)
    }

    @Test func answersGetRoutesAndRefusesTheRest() throws {
        let server = try endpoint(["/metrics": .get { .text("up 1\n") }])
        defer { server.close() }
        #expect(server.port > 0)
        let ok = try RawHTTP.exchange(port: server.port, "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(ok.hasPrefix("HTTP/1.1 200 OK"))
        #expect(ok.contains("Content-Length: 5"))
        #expect(ok.hasSuffix("up 1\n"))
        let missing = try RawHTTP.exchange(port: server.port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(missing.hasPrefix("HTTP/1.1 404"))
        let post = try RawHTTP.exchange(port: server.port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
        #expect(post.hasPrefix("HTTP/1.1 405"))
    }

    @Test func garbageLosesOnlyItsOwnConnection() throws {
        let server = try endpoint(["/": .get { .text("fine") }])
        defer { server.close() }
        let garbage = try RawHTTP.exchange(port: server.port, "\u{01}\u{02} nonsense\r\n\r\n")
        #expect(garbage.hasPrefix("HTTP/1.1 400"))
        let huge = try RawHTTP.exchange(port: server.port, "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200_000) + "\r\n\r\n")
        // The server stops reading past 80 KiB and closes: the client sees the 400, or a reset
        // when its unread bytes were still arriving.
        #expect(huge.hasPrefix("HTTP/1.1 400") || huge.isEmpty)
        let ok = try RawHTTP.exchange(port: server.port, "GET / HTTP/1.0\r\n\r\n")
        #expect(ok.hasPrefix("HTTP/1.0 200"))
        #expect(ok.hasSuffix("fine"))
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let server = try endpoint(["/": .get { .text("x") }])
        defer { server.close() }
        let request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        let replies = try RawHTTP.exchange(port: server.port, request + request + "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(replies.components(separatedBy: "HTTP/1.1 200 OK").count == 4)
    }

    @Test func eventStreamsDeliverEventsUntilTheClientLeaves() throws {
        let clients = ClientBox()
        let server = try endpoint(["/events": .eventStream { clients.add($0) }])
        defer { server.close() }
        let connection = try RawHTTP.Connection(port: server.port)
        try connection.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        let client = try clients.waitForFirst()
        #expect(client.send(event: "stats", data: "{\"a\":1}\n{\"b\":2}"))
        let text = try connection.read(until: "data: {\"b\":2}\n\n")
        #expect(text.contains("text/event-stream"))
        #expect(text.contains("event: stats\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n"))
        connection.close()
        // The server sees the close asynchronously: poll until send reports it.
        var open = true
        for _ in 0..<500 where open {
            open = client.send(data: "tick")
            if open { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(!open)
    }

    @Test func aTakenPortIsNamedInTheError() throws {
        let first = try endpoint([:])
        defer { first.close() }
        #expect {
            try HTTPEndpoint(address: HTTPAddress(host: "127.0.0.1", port: first.port), routes: [:])
        } throws: { error in
            "\(error)".contains("127.0.0.1:\(first.port)")
        }
    }
}

/// Collects the clients an event-stream route hands over.
private final class ClientBox: @unchecked Sendable {
    private let lock = NSCondition()
    private var clients: [EventStreamClient] = []

    func add(_ client: EventStreamClient) {
        lock.withLock { clients.append(client); lock.broadcast() }
    }

    func waitForFirst() throws -> EventStreamClient {
        lock.lock()
        defer { lock.unlock() }
        let deadline = Date().addingTimeInterval(10)
        while clients.isEmpty, lock.wait(until: deadline) {}
        guard let client = clients.first else { throw RawHTTP.Failure("no event-stream client arrived") }
        return client
    }
}

import Testing
import TestSupport
import ZeroMQ

/// Messages go out and come back intact over each pattern Prism uses.
@Suite struct RoundTripTests {
    @Test func requestReplyOverTCP() throws {
        let context = try Context()
        let server = try makeTestSocket(context, .rep)
        let endpoint = try server.bindEphemeralTCP()
        // ZMQ_LAST_ENDPOINT reports the port the system chose, not the wildcard.
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":*"))
        let client = try makeTestSocket(context, .req)
        try client.connect(endpoint)

        try client.send(Array(utf8: "ping"))
        #expect(try server.receive() == [Array(utf8: "ping")])
        try server.send(Array(utf8: "pong"))
        #expect(try client.receive() == [Array(utf8: "pong")])
    }

    @Test func dealerRouterCarriesTheRoutingID() throws {
        let context = try Context()
        let router = try makeTestSocket(context, .router)
        let endpoint = uniqueInprocEndpoint("dealer-router")
        try router.bind(endpoint)
        let dealer = try makeTestSocket(context, .dealer)
        try dealer.setRoutingID(Array(utf8: "client-1"))
        try dealer.connect(endpoint)

        try dealer.send([Array(utf8: "hello")])
        // The ROUTER prepends the sender's routing id, and routes a reply by it.
        #expect(try router.receive() == [Array(utf8: "client-1"), Array(utf8: "hello")])
        try router.send([Array(utf8: "client-1"), Array(utf8: "world")])
        #expect(try dealer.receive() == [Array(utf8: "world")])
    }

    @Test(arguments: ["tcp", "inproc"])
    func multipartWithEmptyFramesArrivesIntact(transport: String) throws {
        let context = try Context()
        let receiver = try makeTestSocket(context, .pair)
        let endpoint: String
        if transport == "tcp" {
            endpoint = try receiver.bindEphemeralTCP()
        } else {
            endpoint = uniqueInprocEndpoint("multipart")
            try receiver.bind(endpoint)
        }
        let sender = try makeTestSocket(context, .pair)
        try sender.connect(endpoint)

        let frames: [[UInt8]] = [[], Array(utf8: "header"), [], [0, 1, 2, 255], []]
        #expect(try sender.send(frames))
        #expect(try receiver.receive() == frames)
    }

    @Test func sixteenMebibyteMessageIsNotTruncated() throws {
        let context = try Context()
        let receiver = try makeTestSocket(context, .pair)
        let endpoint = try receiver.bindEphemeralTCP()
        let sender = try makeTestSocket(context, .pair)
        try sender.connect(endpoint)

        // A pattern rather than zeros, so a shifted or repeated chunk would not compare equal.
        let size = 16 * 1024 * 1024
        let payload = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            for index in 0..<size { buffer[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 16) }
            count = size
        }
        try sender.send([Array(utf8: "big"), payload])

        let received = try #require(try receiver.receive())
        #expect(received.count == 2)
        #expect(received.last?.count == size)
        #expect(received.last == payload)
    }
}

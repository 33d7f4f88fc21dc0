import Testing
import TestSupport
import ZeroMQ

/// Non-blocking calls, high-water marks and size limits behave as documented.
@Suite struct FlowControlTests {
    @Test func receiveWithoutWaitingOnAnEmptySocketReturnsNil() throws {
        let context = try Context()
        let socket = try makeTestSocket(context, .pair)
        try socket.bind(uniqueInprocEndpoint("empty"))

        #expect(try socket.receive(dontWait: true) == nil)
    }

    @Test func sendWithoutWaitingAndNoPeerReturnsFalse() throws {
        let context = try Context()
        let dealer = try makeTestSocket(context, .dealer)

        // A DEALER with no connection at all has nowhere to queue the message.
        #expect(try dealer.send([Array(utf8: "nobody home")], dontWait: true) == false)
    }

    @Test func sendWithoutWaitingToAnAbsentPeerWithImmediateReturnsFalse() throws {
        let context = try Context()
        // Find a port nobody listens on: bind one, note it, and give it back.
        let placeholder = try makeTestSocket(context, .router)
        let endpoint = try placeholder.bindEphemeralTCP()
        placeholder.close()

        let dealer = try makeTestSocket(context, .dealer)
        try dealer.setImmediate(true)
        try dealer.connect(endpoint)

        // With ZMQ_IMMEDIATE the pending connection takes no messages, so the send cannot queue.
        #expect(try dealer.send([Array(utf8: "hello?")], dontWait: true) == false)
    }

    @Test func sendWithoutWaitingAtTheHighWaterMarkReturnsFalse() throws {
        let context = try Context()
        let endpoint = uniqueInprocEndpoint("hwm")
        let router = try makeTestSocket(context, .router)
        try router.setReceiveHighWaterMark(1)
        try router.bind(endpoint)
        let dealer = try makeTestSocket(context, .dealer)
        try dealer.setSendHighWaterMark(1)
        try dealer.connect(endpoint)

        // The ROUTER never reads, so the pipe fills after a handful of messages.
        var sent = 0
        while sent < 10_000, try dealer.send([Array(utf8: "fill")], dontWait: true) {
            sent += 1
        }
        #expect(sent >= 1)
        #expect(sent < 10_000, "the high-water mark never stopped the sender")
    }

    @Test func routerDropsAPeerThatExceedsTheMaximumMessageSize() throws {
        let context = try Context()
        let router = try makeTestSocket(context, .router)
        try router.setMaxMessageSize(1024)
        let endpoint = try router.bindEphemeralTCP()

        let tooBig = try makeTestSocket(context, .dealer)
        try tooBig.setRoutingID(Array(utf8: "too-big"))
        try tooBig.connect(endpoint)
        try tooBig.send([[UInt8](repeating: 7, count: 4096)])

        let fine = try makeTestSocket(context, .dealer)
        try fine.setRoutingID(Array(utf8: "fine"))
        try fine.connect(endpoint)
        try fine.send([Array(utf8: "hello")])

        // The oversized message never surfaces; the well-behaved peer is still served.
        #expect(try router.receive() == [Array(utf8: "fine"), Array(utf8: "hello")])
        try router.send([Array(utf8: "fine"), Array(utf8: "welcome")])
        #expect(try fine.receive() == [Array(utf8: "welcome")])

        // Proving absence needs some wait; this bounds it rather than waiting for readiness.
        var poller = Poller([router])
        #expect(try poller.poll(timeout: 200).first?.readable == false)
    }
}

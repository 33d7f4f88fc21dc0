import Testing
import TestSupport
import ZeroMQ

/// `receiveMessage` tells where a request came from (projectors take admin requests only
/// from loopback).
@Suite struct PeerAddressTests {
    @Test func aRouterSeesTheTCPPeersAddress() throws {
        let context = try Context()
        let router = try makeTestSocket(context, .router)
        let endpoint = try router.bindEphemeralTCP()
        let dealer = try makeTestSocket(context, .dealer)
        try dealer.connect(endpoint)

        try dealer.send([Array(utf8: "hello")])
        let received = try router.receiveMessage()
        // The routing-id frame is made by the ROUTER itself; the address comes from the wire frame.
        #expect(received?.frames.count == 2 && received?.frames.last == Array(utf8: "hello"))
        #expect(received?.peerAddress == "127.0.0.1")
    }

    @Test func inprocHasNoPeerAddress() throws {
        let context = try Context()
        let router = try makeTestSocket(context, .router)
        let endpoint = uniqueInprocEndpoint("peer-address")
        try router.bind(endpoint)
        let dealer = try makeTestSocket(context, .dealer)
        try dealer.connect(endpoint)

        try dealer.send([Array(utf8: "hello")])
        let received = try router.receiveMessage()
        #expect(received?.frames.last == Array(utf8: "hello"))
        #expect(received?.peerAddress == nil)
    }
}

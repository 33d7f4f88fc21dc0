import Testing
import TestSupport
import ZeroMQ

/// A client that does not read its replies is found out by the send that finds its queue full, and
/// its requests are turned away; one that reads is not, and a reply to a gone client is no error.
@Suite struct UnreadingClientsTests {
    @Test func aClientWhoseQueueIsFullIsTurnedAwayAndOneThatReadsIsNot() throws {
        let context = try Context()
        defer { context.shutdown() }
        let router = try makeTestSocket(context, .router)
        try router.setSendHighWaterMark(1)
        try router.setRouterMandatory(true)
        let endpoint = uniqueInprocEndpoint("unreading")
        try router.bind(endpoint)
        let dealer = try makeTestSocket(context, .dealer)
        try dealer.setReceiveHighWaterMark(1)
        try dealer.connect(endpoint)
        try dealer.send([UInt8]("hello".utf8))
        let request = try #require(try router.receive())
        let route = Array(request.dropLast())

        var unreading = UnreadingClients()
        let before = unreading.turnsAway(route)
        #expect(!before)
        // Never read: the inproc pipe holds a couple of replies, then the queue is full.
        for _ in 0..<10 { try unreading.send(route + [[1]], on: router) }
        let after = unreading.turnsAway(route)
        #expect(after)
        let other = unreading.turnsAway([[9, 9, 9]])
        #expect(!other, "another connection is served")

        try unreading.send([[7, 7, 7], [1]], on: router)  // a connection the ROUTER never had
        let gone = unreading.turnsAway([[7, 7, 7]])
        #expect(!gone)
    }
}

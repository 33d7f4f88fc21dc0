import Testing
import TestSupport
import ZeroMQ

/// A subscriber sees exactly the topics it asked for.
@Suite struct PubSubTests {
    @Test func subscriberReceivesOnlyItsTopicPrefix() throws {
        let context = try Context()
        let publisher = try makeTestSocket(context, .pub)
        let endpoint = try publisher.bindEphemeralTCP()
        let subscriber = try makeTestSocket(context, .sub)
        try subscriber.subscribe("orders.")
        try subscriber.connect(endpoint)

        // SUB joins slowly and PUB drops until it has: publish until something arrives.
        var poller = Poller([subscriber])
        let joined = try waitUntil(timeout: .seconds(10), interval: .zero) {
            try publisher.send([Array(utf8: "users.registered"), Array(utf8: "join")])
            try publisher.send([Array(utf8: "orders.created"), Array(utf8: "join")])
            guard try poller.poll(timeout: 10).first?.readable == true else { return false }
            let message = try #require(try subscriber.receive(dontWait: true))
            #expect(message.first.map { $0.starts(with: Array(utf8: "orders.")) } == true)
            return true
        }
        try #require(joined, "subscriber never joined")

        // Messages on one connection keep their order, so a leaked "users." message
        // would arrive before the final marker.
        try publisher.send([Array(utf8: "users.registered"), Array(utf8: "after")])
        try publisher.send([Array(utf8: "orders.shipped"), Array(utf8: "final")])
        while true {
            let message = try #require(try subscriber.receive(), "timed out before the final marker")
            let topic = String(decoding: message[0], as: UTF8.self)
            #expect(topic.hasPrefix("orders."), "received \(topic)")
            if message.last == Array(utf8: "final") { break }
        }
    }
}

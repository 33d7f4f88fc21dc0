import Glibc
import Testing
import TestSupport
import ZeroMQ

/// `Poller` reports which sockets are ready, and nothing on timeout.
@Suite struct PollerTests {
    @Test func timeoutReportsNoReadiness() throws {
        let context = try Context()
        let socket = try makeTestSocket(context, .pair)
        try socket.bind(uniqueInprocEndpoint("poll-timeout"))

        var poller = Poller([socket])
        let readiness = try poller.poll(timeout: 20)
        #expect(readiness.count == 1)
        #expect(readiness.allSatisfy { !$0.readable && !$0.writable })
    }

    @Test func reportsTheSocketThatHasAMessage() throws {
        let context = try Context()
        let quiet = try makeTestSocket(context, .pair)
        try quiet.bind(uniqueInprocEndpoint("poll-quiet"))
        let endpoint = uniqueInprocEndpoint("poll-busy")
        let busy = try makeTestSocket(context, .pair)
        try busy.bind(endpoint)
        let sender = try makeTestSocket(context, .pair)
        try sender.connect(endpoint)
        try sender.send(Array(utf8: "wake up"))

        var poller = Poller([quiet, busy])
        let readiness = try poller.poll(timeout: 5_000)
        #expect(readiness.map(\.readable) == [false, true])
        #expect(try busy.receive(dontWait: true) == [Array(utf8: "wake up")])
    }

    @Test func pollingAClosedSocketThrows() throws {
        let context = try Context()
        let socket = try makeTestSocket(context, .pair)
        var poller = Poller([socket])
        socket.close()

        #expect(throws: ZMQError(errno: ENOTSOCK, call: "zmq_poll")) {
            _ = try poller.poll(timeout: 0)
        }
    }
}

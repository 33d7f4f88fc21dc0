import Glibc
import Testing
import TestSupport
import ZeroMQ

/// Errors name the failed C call and carry libzmq's own explanation.
@Suite struct ZMQErrorTests {
    @Test(arguments: ["bogus://nowhere", "tcp://127.0.0.1", "tcp://no-such-interface-prism:5555"])
    func bindToAnInvalidEndpointNamesTheCallAndReason(endpoint: String) throws {
        let context = try Context()
        let socket = try makeTestSocket(context, .router)

        let error = try #require(#expect(throws: ZMQError.self) { try socket.bind(endpoint) })
        #expect(error.call == "zmq_bind(\(endpoint))")
        #expect(error.description.contains("zmq_bind("))
        #expect(!error.message.isEmpty)
        #expect(error.description.contains(error.message))
        #expect(!error.isContextTerminated)
    }

    @Test func bindingAPortTwiceReportsAddressInUse() throws {
        let context = try Context()
        let first = try makeTestSocket(context, .router)
        let endpoint = try first.bindEphemeralTCP()
        let second = try makeTestSocket(context, .router)

        let error = try #require(#expect(throws: ZMQError.self) { try second.bind(endpoint) })
        #expect(error.errno == EADDRINUSE)
        #expect(error.description == "zmq_bind(\(endpoint)) failed: \(error.message) (errno \(EADDRINUSE))")
    }

    @Test func usingAClosedSocketThrowsNotASocket() throws {
        let context = try Context()
        let socket = try makeTestSocket(context, .dealer)
        socket.close()

        #expect(throws: ZMQError(errno: ENOTSOCK, call: "zmq_send")) {
            try socket.send(Array(utf8: "too late"))
        }
    }
}

import Dispatch
import Foundation
import Testing
import TestSupport
import ZeroMQ

/// Shutting a context down releases threads blocked on its sockets.
@Suite struct ContextTests {
    @Test func shutdownUnblocksAReceiverOnAnotherThread() throws {
        let context = try Context()
        // No receive timeout: only the shutdown can end this receive.
        let socket = try makeTestSocket(context, .pair, receiveTimeout: -1)
        try socket.bind(uniqueInprocEndpoint("shutdown"))

        let outcome = Locked<Result<[[UInt8]]?, ZMQError>?>(nil)
        let finished = DispatchSemaphore(value: 0)
        // Starting the thread hands it the socket; from here on only that thread touches it.
        let receiver = Thread {
            let result = Result { () throws(ZMQError) in try socket.receive() }
            socket.close()
            outcome.withLock { $0 = result }
            finished.signal()
        }
        receiver.start()

        // Whether the receiver is already blocked or not yet, it must see ETERM.
        context.shutdown()
        try #require(finished.wait(timeout: .now() + 10) == .success, "receiver still blocked")

        let result = try #require(outcome.withLock { $0 })
        switch result {
        case .success(let frames):
            Issue.record("receive returned \(String(describing: frames)) instead of throwing")
        case .failure(let error):
            #expect(error.isContextTerminated)
            #expect(error.call == "zmq_msg_recv")
        }
    }

    @Test func newSocketsFailAfterShutdown() throws {
        let context = try Context()
        context.shutdown()

        let error = #expect(throws: ZMQError.self) { try Socket(context, .pair) }
        #expect(error?.isContextTerminated == true)
    }
}

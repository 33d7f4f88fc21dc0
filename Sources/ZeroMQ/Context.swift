import CZeroMQ

/// A libzmq context: the I/O threads and the registry of sockets. Thread-safe.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// - Parameter ioThreads: libzmq I/O threads; one moves about a gigabyte a second.
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else {
            throw ZMQError(errno: zmq_errno(), call: "zmq_ctx_new")
        }
        self.handle = handle
        try zmqCheck("zmq_ctx_set(ZMQ_IO_THREADS)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) }
    }

    /// Makes every blocking call on this context's sockets return `ETERM`, from any thread.
    ///
    /// The sockets' owners must then close them; `deinit` waits for that (`zmq_ctx_term`).
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    deinit {
        while zmq_ctx_term(handle) != 0, zmq_errno() == EINTR {}
    }
}

import Foundation

/// An `inproc://` endpoint no other test uses, so tests can run in parallel.
///
/// - Parameter label: a readable prefix that shows up in failure messages.
public func uniqueInprocEndpoint(_ label: String = "test") -> String {
    "inproc://\(label)-\(UUID().uuidString)"
}

/// A loopback TCP endpoint whose port the system picks when it is bound.
///
/// Bind to it, then read the socket's `lastEndpoint` for the real port.
public let ephemeralTCPEndpoint = "tcp://127.0.0.1:*"

import Glibc

/// A TCP endpoint on loopback with a port nobody is listening on right now.
///
/// The port is found by binding port 0 and closing; another process could take it before the
/// child binds, which on a test machine is rare enough, and the child then fails loudly.
public func freeTCPEndpoint() -> String {
    "tcp://127.0.0.1:\(freeTCPPort())"
}

/// A loopback TCP port nobody is listening on right now (see `freeTCPEndpoint`), for a server
/// that takes a port number.
public func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket() failed")
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    precondition(bound, "bind/getsockname failed")
    return Int(UInt16(bigEndian: address.sin_port))
}

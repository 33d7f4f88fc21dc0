import Foundation

/// Plain TCP to the endpoint, so tests can send exactly the bytes they mean, malformed included.
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Sends `request` and reads until the server closes the connection.
    static func exchange(port: Int, _ request: String) throws -> String {
        let connection = try Connection(port: port)
        defer { connection.close() }
        try connection.write(request)
        return try connection.readToEnd()
    }

    final class Connection {
        private let socket: Int32
        private var received: [UInt8] = []

        init(port: Int) throws {
            socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw Failure("connect to 127.0.0.1:\(port) failed: errno \(errno)") }
        }

        func write(_ text: String) throws {
            let bytes = Array(text.utf8)
            guard send(socket, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw Failure("short write") }
        }

        /// Reads until the text received so far contains `marker` (or fails after the 10 s socket timeout).
        func read(until marker: String) throws -> String {
            while !(String(decoding: received, as: UTF8.self).contains(marker)) {
                guard try readSome() else { throw Failure("closed before \"\(marker)\"; got: \(String(decoding: received, as: UTF8.self))") }
            }
            return String(decoding: received, as: UTF8.self)
        }

        func readToEnd() throws -> String {
            while try readSome() {}
            return String(decoding: received, as: UTF8.self)
        }

        private func readSome() throws -> Bool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(socket, &buffer, buffer.count, 0)
            if count < 0 && errno == ECONNRESET { return false }
            if count < 0 { throw Failure("recv failed: errno \(errno)") }
            received += buffer[0..<count]
            return count > 0
        }

        func close() {
            Glibc.close(socket)
        }
    }
}

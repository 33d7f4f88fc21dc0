/// Where an HTTP endpoint listens, as an operator writes it on the command line.
///
/// A bare port means loopback: metrics and the dashboard reveal the system's shape and load, so
/// reaching them from another machine must be asked for by naming the address (`0.0.0.0:9101`).
public struct HTTPAddress: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `9101`, `127.0.0.1:9101`, `0.0.0.0:9101`, `localhost:9101` or `[::1]:9101`.
    public init(parsing text: String) throws(HTTPAddressError) {
        let host: Substring
        let portText: Substring
        if text.allSatisfy(\.isNumber) {
            (host, portText) = ("127.0.0.1", Substring(text))
        } else if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw HTTPAddressError(text: text, problem: "an IPv6 address is written [address]:port")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw HTTPAddressError(text: text, problem: "expected host:port or a port alone")
            }
            (host, portText) = (text[..<colon], text[text.index(after: colon)...])
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:".contains($0) }) else {
            throw HTTPAddressError(text: text, problem: "the host is empty or has characters a host name cannot have")
        }
        guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isNumber), let port = Int(portText), port <= 65535 else {
            throw HTTPAddressError(text: text, problem: "the port must be a number from 0 to 65535")
        }
        self.init(host: String(host), port: port)
    }

    /// Whether only this machine can connect.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

public struct HTTPAddressError: Error, CustomStringConvertible {
    public let text: String
    public let problem: String

    public var description: String { "invalid HTTP address \"\(text)\": \(problem)" }
}

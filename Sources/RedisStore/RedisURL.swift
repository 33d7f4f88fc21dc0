import ProjectionRuntime

/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`.
///
/// `user` and `password` may be percent-encoded (`%40` for `@`); an IPv6 host goes in brackets
/// (`redis://[::1]:6379`). The port defaults to 6379 and the database to 0. With a password but
/// no user, the client sends `AUTH password` (the `default` user); with both, `AUTH user password`.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    public var database: Int

    public static let defaultPort = 6379

    public init(host: String, port: Int = defaultPort, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `text`.
    ///
    /// - Throws: `RedisURLError` naming what is wrong, never echoing the password.
    public init(parsing text: String) throws(RedisURLError) {
        let scheme = "redis://"
        guard text.hasPrefix(scheme) else {
            let shown = text.firstIndex(of: ":").map { String(text[..<$0]) } ?? text
            throw RedisURLError("a Redis URL starts with redis:// (redis://[[user]:password@]host[:port][/db]), got '\(shown)…'")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        if let mark = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            throw RedisURLError("Redis URL options ('\(rest[mark...])') are not supported: use redis://[[user]:password@]host[:port][/db]")
        }
        // The credentials end at the last '@': a password may hold an unencoded '@'.
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = credentials.firstIndex(of: ":") else {
                throw RedisURLError("the Redis URL's credentials need a ':' before the password (redis://user:password@host or redis://:password@host)")
            }
            let user = try Self.decode(credentials[..<colon], what: "user")
            self.user = user.isEmpty ? nil : user
            password = try Self.decode(credentials[credentials.index(after: colon)...], what: "password")
            if password!.isEmpty { throw RedisURLError("the Redis URL's password is empty (leave out ':@' for none)") }
        } else {
            user = nil
            password = nil
        }
        var authority = rest
        database = 0
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard path.allSatisfy(\.isASCII), let number = Int(path), number >= 0 else {
                    throw RedisURLError("the Redis URL's database must be a number from 0, got '\(path)'")
                }
                database = number
            }
        }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw RedisURLError("the Redis URL's IPv6 host '\(authority)' lacks its ']'") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisURLError("unexpected '\(after)' after the Redis URL's host [\(host)]") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        if host.isEmpty { throw RedisURLError("the Redis URL has no host (redis://host[:port][/db])") }
        if let portText {
            guard portText.allSatisfy(\.isASCII), let number = Int(portText), (1...65535).contains(number) else {
                throw RedisURLError("the Redis URL's port must be 1-65535, got '\(portText)'")
            }
            port = number
        } else {
            port = Self.defaultPort
        }
    }

    /// `host:port`, as messages name the server.
    public var endpoint: String { ServerURL.endpoint(host: host, port: port) }

    /// The URL without its password (`redis://user:***@host:port/db`), safe to log.
    public var description: String {
        let credentials = password == nil ? "" : "\(user ?? ""):***@"
        return "redis://\(credentials)\(endpoint)/\(database)"
    }

    private static func decode(_ text: Substring, what: String) throws(RedisURLError) -> String {
        guard let bytes = ServerURL.percentDecoded(text) else {
            throw RedisURLError("the Redis URL's \(what) has a bad percent escape (use %XX with two hex digits)")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A Redis URL that cannot be used, with what is wrong with it.
public struct RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

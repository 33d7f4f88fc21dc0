import ProjectionRuntime

/// Where a PostgreSQL read model lives: `postgres://user:password@host:port/database`.
///
/// `postgresql://` is the same; the port defaults to 5432; user, password and database are
/// percent-decoded (a password holding `@` or `/` is written `%40`, `%2F`); an IPv6 host goes in
/// brackets (`[::1]`). The connection is plain TCP: query parameters (`?sslmode=…`) are refused
/// rather than ignored.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    /// Nil when the URL gives none (the server must then trust the connection).
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String

    public static let defaultPort = 5432

    public init(user: String, password: String?, host: String, port: Int = defaultPort, database: String) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
    }

    /// Parses `text`.
    ///
    /// - Throws: `PostgresURLError` naming what is wrong: the scheme, a missing user, host or
    ///   database, a port that is not 1…65535, bad percent-encoding, query parameters.
    public init(_ text: String) throws(PostgresURLError) {
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { text.lowercased().hasPrefix($0) }) else {
            throw PostgresURLError(text, "must start with postgres:// or postgresql://")
        }
        var rest = Substring(text.dropFirst(scheme.count))
        if rest.contains("?") {
            throw PostgresURLError(text, "takes no query parameters (?…): the connection is plain TCP with a password")
        }
        if rest.contains("#") { throw PostgresURLError(text, "has a fragment (#…)") }
        guard let slash = rest.firstIndex(of: "/") else {
            throw PostgresURLError(text, "names no database (expected postgres://user:password@host:port/database)")
        }
        let authority = rest[..<slash]
        rest = rest[rest.index(after: slash)...]
        guard !rest.isEmpty else {
            throw PostgresURLError(text, "names no database (expected postgres://user:password@host:port/database)")
        }
        guard !rest.contains("/") else { throw PostgresURLError(text, "has a '/' in the database name (write it %2F)") }
        database = try Self.decode(rest, "database", in: text)

        // The user information ends at the last '@', so an unencoded '@' in a password still parses.
        guard let at = authority.lastIndex(of: "@") else {
            throw PostgresURLError(text, "names no user (expected postgres://user:password@host:port/database)")
        }
        let userInformation = authority[..<at]
        if let colon = userInformation.firstIndex(of: ":") {
            user = try Self.decode(userInformation[..<colon], "user", in: text)
            password = try Self.decode(userInformation[userInformation.index(after: colon)...], "password", in: text)
        } else {
            user = try Self.decode(userInformation, "user", in: text)
            password = nil
        }
        guard !user.isEmpty else {
            throw PostgresURLError(text, "names no user (expected postgres://user:password@host:port/database)")
        }

        let hostAndPort = authority[authority.index(after: at)...]
        let portText: Substring?
        if hostAndPort.hasPrefix("[") {
            guard let close = hostAndPort.firstIndex(of: "]") else { throw PostgresURLError(text, "has an IPv6 host without its closing ']'") }
            host = String(hostAndPort[hostAndPort.index(after: hostAndPort.startIndex)..<close])
            let after = hostAndPort[hostAndPort.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { throw PostgresURLError(text, "has '\(after)' after the IPv6 host") }
            portText = after.isEmpty ? nil : after.dropFirst()
        } else if let colon = hostAndPort.lastIndex(of: ":") {
            host = String(hostAndPort[..<colon])
            portText = hostAndPort[hostAndPort.index(after: colon)...]
        } else {
            host = String(hostAndPort)
            portText = nil
        }
        guard !host.isEmpty else { throw PostgresURLError(text, "names no host") }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port), portText.allSatisfy(\.isASCII) else {
                throw PostgresURLError(text, "has port '\(portText)': must be a number 1-65535")
            }
            self.port = port
        } else {
            port = Self.defaultPort
        }
    }

    /// `host:port` (`[::1]:5432` for IPv6): what error messages name.
    public var endpoint: String { ServerURL.endpoint(host: host, port: port) }

    /// The URL without its password, for logs and `stats`.
    public var description: String { "postgres://\(user)@\(endpoint)/\(database)" }

    /// `%XX` sequences decoded as UTF-8.
    private static func decode(_ part: Substring, _ name: String, in text: String) throws(PostgresURLError) -> String {
        guard let bytes = ServerURL.percentDecoded(part) else {
            throw PostgresURLError(text, "has a bad percent-encoding in the \(name) (expected %XX with two hex digits)")
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw PostgresURLError(text, "has a \(name) that is not UTF-8 once percent-decoded")
        }
        return decoded
    }
}

/// A `--postgres-url` that does not parse. The message never repeats the password.
public struct PostgresURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    init(_ url: String, _ problem: String) {
        message = "PostgreSQL URL \(Self.redacted(url)) \(problem)"
    }

    public var description: String { message }

    /// The URL with whatever sits between the user's ':' and the last '@' replaced by `***`.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url.lastIndex(of: "@"), at > scheme.upperBound,
            let colon = url[scheme.upperBound..<at].firstIndex(of: ":")
        else { return "'\(url)'" }
        return "'\(url[..<url.index(after: colon)])***\(url[at...])'"
    }
}

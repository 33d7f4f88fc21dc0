import Foundation

/// What an authenticated principal may do. Checked per request from the connection's User-Id.
public enum Role: String, CaseIterable, Sendable, Comparable {
    /// Send commands and appends to the write node.
    case writer
    /// Subscribe to the write node's events and use its catch-up endpoint.
    case projector
    /// Query read models (and the write node's `health` and `stats`).
    case reader
    /// Everything, including a projector's admin requests (`rebuild`, `skip`).
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Roles from `writer,reader` text.
    ///
    /// - Throws: `SecurityError` naming the first unknown role.
    public static func parseList(_ text: String) throws(SecurityError) -> Set<Role> {
        var roles: Set<Role> = []
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let role = Role(rawValue: name) else {
                throw SecurityError("unknown role '\(name)' (roles: \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            roles.insert(role)
        }
        return roles
    }
}

/// An authorized client: the name of its certificate file and its roles.
public struct Principal: Sendable, Equatable {
    public var name: String
    public var roles: Set<Role>

    public init(name: String, roles: Set<Role>) {
        self.name = name
        self.roles = roles
    }

    public func may(_ role: Role) -> Bool { roles.contains(.admin) || roles.contains(role) }

    /// `writer,reader`, in a fixed order.
    public var roleList: String { roles.sorted().map(\.rawValue).joined(separator: ",") }
}

/// A key, certificate or authorization problem, said in words an operator can act on.
public struct SecurityError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

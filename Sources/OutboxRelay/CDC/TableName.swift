/// A captured table, `schema.table` (`public` when the schema is left out).
public struct TableName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var schema: String
    public var table: String

    public init(schema: String = "public", table: String) {
        self.schema = schema
        self.table = table
    }

    /// Parses `public.users` or `users`; nil for an empty part or more than one dot.
    public init?(_ text: some StringProtocol) {
        let parts = String(text).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch parts.count {
        case 1 where !parts[0].isEmpty: self.init(table: parts[0])
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty: self.init(schema: parts[0], table: parts[1])
        default: return nil
        }
    }

    /// `schema.table`, as `--tables` and wal2json's `add-tables` take it.
    public var description: String { "\(schema).\(table)" }

    /// The name quoted for SQL: `"public"."users"`.
    public var quoted: String { "\(Self.quoted(schema)).\(Self.quoted(table))" }

    /// An identifier quoted for SQL.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// wal2json's `add-tables` escapes `,` `.` and `\` in names with a backslash.
    var wal2jsonPattern: String {
        func escaped(_ part: String) -> String {
            part.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ",", with: "\\,").replacingOccurrences(of: ".", with: "\\.")
        }
        return "\(escaped(schema)).\(escaped(table))"
    }

    public static func < (left: TableName, right: TableName) -> Bool { left.description < right.description }
}

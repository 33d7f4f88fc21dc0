import JSON

/// One committed row change of a captured table, or one row of an initial snapshot.
public struct RowChange: Sendable, Equatable {
    public enum Operation: String, Sendable {
        /// A row of the initial snapshot (Debezium's `r`).
        case read = "r"
        case insert = "c"
        case update = "u"
        case delete = "d"
    }

    public var table: TableName
    public var operation: Operation
    /// The row after the change (nil for a delete): column name → value as wal2json writes it.
    public var row: [String: JSONValue]?
    /// The row before the change (updates and deletes): every column with `REPLICA IDENTITY
    /// FULL`, only the key columns with the default identity (and for an update, only when the key changed).
    public var old: [String: JSONValue]?
    /// The primary key's columns, in key order.
    public var keyColumns: [String]
    /// Where the change sits: its transaction, and its place for the deterministic event id.
    public var origin: Origin

    public enum Origin: Sendable, Equatable, Hashable {
        /// A streamed change: the change's WAL record, the how-many-th change at that LSN (a
        /// multi-row insert such as `COPY` logs several rows in one record), and its
        /// transaction's id and commit.
        case wal(lsn: LSN, ordinal: Int, xid: UInt32, commitLSN: LSN)
        /// A snapshot row, named by the snapshot that read it.
        case snapshot(id: String)
    }

    public init(table: TableName, operation: Operation, row: [String: JSONValue]?, old: [String: JSONValue]?, keyColumns: [String], origin: Origin) {
        self.table = table
        self.operation = operation
        self.row = row
        self.old = old
        self.keyColumns = keyColumns
        self.origin = origin
    }

    /// The row's primary key values in key order: from the new row, or from the old one for a
    /// delete. Nil when a key column is missing (a table without a primary key).
    public var key: [JSONValue]? {
        guard !keyColumns.isEmpty, let values = row ?? old else { return nil }
        let key = keyColumns.compactMap { values[$0] }
        return key.count == keyColumns.count ? key : nil
    }

    /// The key as text, the primary key values joined by `-` (`o-17`, `42-7`): the id part of a stream name.
    public var keyText: String? {
        key.map { $0.map(Self.text).joined(separator: "-") }
    }

    /// A column value as plain text: strings unquoted, numbers and booleans as JSON writes them.
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .null: "null"
        default: value.jsonString
        }
    }
}

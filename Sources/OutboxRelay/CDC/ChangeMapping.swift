import EventModel
import JSON

/// An event a mapping made of a row change, before it gets its id.
public struct MappedEvent: Sendable, Equatable {
    public var stream: String
    public var type: String
    public var data: JSONValue
    public var metadata: JSONValue?

    public init(stream: String, type: String, data: JSONValue, metadata: JSONValue?) {
        self.stream = stream
        self.type = type
        self.data = data
        self.metadata = metadata
    }
}

/// Turns row changes into events: `--mapping generic` (`GenericMapping`) or `--mapping orders`
/// (`OrdersMapping`).
public protocol ChangeMapping: Sendable {
    /// The events `change` becomes, in order; empty when the change means nothing to the mapping.
    ///
    /// - Throws: `CDCError` when the change cannot be mapped (no primary key, a missing column,
    ///   an old row missing where the mapping needs `REPLICA IDENTITY FULL`).
    func events(for change: RowChange) throws(CDCError) -> [MappedEvent]
}

/// The mapping named by `--mapping`.
public func changeMapping(named name: String) -> (any ChangeMapping)? {
    switch name {
    case "generic": GenericMapping()
    case "orders": OrdersMapping()
    default: nil
    }
}

extension RowChange {
    /// Where the change comes from, for an event's metadata: `table`, `op` (`c`, `u`, `d`, or `r`
    /// for a snapshot row, as in Debezium), and `lsn` and `xid` for a streamed change or
    /// `snapshot` for a snapshot row.
    var sourceMetadata: [String: JSONValue] {
        var metadata: [String: JSONValue] = ["table": .string(table.description), "op": .string(operation.rawValue)]
        switch origin {
        case .wal(let lsn, _, let xid, _):
            metadata["lsn"] = .string(lsn.description)
            metadata["xid"] = .int(Int64(xid))
        case .snapshot(let id):
            metadata["snapshot"] = .string(id)
        }
        return metadata
    }

    /// `category-key`, checked against the stream naming rules.
    func stream(category: String) throws(CDCError) -> String {
        guard let keyText else {
            throw CDCError("\(table) has no primary key value in its change (CDC needs a primary key to name the stream)")
        }
        let stream = "\(category)-\(keyText)"
        if let problem = StreamName.problem(with: stream) { throw CDCError("\(table) row \(keyText): \(problem)") }
        return stream
    }
}

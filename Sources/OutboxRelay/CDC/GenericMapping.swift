import JSON

/// The mapping for any table (`--mapping generic`): one event per row change.
///
/// | | |
/// |---|---|
/// | stream | `<table>-<primary key>` (`users-u1`; key columns joined by `-`; `<schema>.<table>-…` outside `public`) |
/// | type | `<Table>Inserted`, `<Table>Updated`, `<Table>Deleted`, `<Table>Snapshotted` (`order_items` → `OrderItemsInserted`) |
/// | data | the row after the change; for a delete, the row before it (its key columns only without `REPLICA IDENTITY FULL`) |
/// | metadata | `{"table", "op": "c"/"u"/"d"/"r", "lsn", "xid"}` (or `"snapshot"`), and `"old"`: the row before an update or delete |
///
/// This is Debezium's envelope spread over an event: `data` is its `after` (`before` for a
/// delete), `metadata.old` its `before`, `metadata.op` its `op`, `lsn`/`xid` its `source`.
public struct GenericMapping: ChangeMapping {
    public init() {}

    public func events(for change: RowChange) throws(CDCError) -> [MappedEvent] {
        let table = change.table
        let category = table.schema == "public" ? table.table : table.description
        let suffix = switch change.operation {
        case .read: "Snapshotted"
        case .insert: "Inserted"
        case .update: "Updated"
        case .delete: "Deleted"
        }
        var metadata = change.sourceMetadata
        if let old = change.old { metadata["old"] = .object(old) }
        let data = change.row ?? change.old ?? [:]
        return [MappedEvent(stream: try change.stream(category: category), type: Self.typeName(table.table) + suffix,
                            data: .object(data), metadata: .object(metadata))]
    }

    /// `order_items` → `OrderItems`.
    static func typeName(_ table: String) -> String {
        table.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}

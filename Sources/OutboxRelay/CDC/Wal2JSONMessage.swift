import Foundation
import JSON

/// One row of `pg_logical_slot_peek_changes` with wal2json's format version 2 (options
/// `include-xids`, `include-timestamp`, `include-lsn`, `include-pk`): a transaction's begin or
/// commit, or one row change.
///
///     {"action":"B","xid":732,"timestamp":"2026-12-03 15:22:31.028719+00","lsn":"0/1959F50","nextlsn":"0/1959F80"}
///     {"action":"U","xid":732,…,"lsn":"0/1959E08","schema":"public","table":"users",
///      "columns":[{"name":"user_id","type":"text","value":"u1"},…],"identity":[…],"pk":[{"name":"user_id","type":"text"}]}
///     {"action":"C","xid":732,…}
///
/// `columns` is the new row (inserts, updates), `identity` the old one (updates, deletes).
enum Wal2JSONMessage: Equatable {
    case begin(xid: UInt32, commitLSN: LSN?, timestamp: Date?)
    case commit(xid: UInt32)
    case change(table: TableName, operation: RowChange.Operation, row: [String: JSONValue]?, old: [String: JSONValue]?, keyColumns: [String])
    /// A truncate (`T`) or a logical message (`M`): not a row change, skipped and counted.
    case other(action: String)

    /// Parses one `data` value.
    ///
    /// - Throws: `CDCError` naming what is missing; wal2json never writes such a row, so a throw
    ///   means a wrong plugin or options.
    init(parsing text: String) throws(CDCError) {
        guard case .object(let fields)? = try? JSONParser.parse(text), let action = fields["action"]?.stringValue else {
            throw CDCError("not a wal2json format-version 2 message: \(text.prefix(200))")
        }
        let xid = fields["xid"]?.intValue.flatMap(UInt32.init(exactly:))
        switch action {
        case "B":
            guard let xid else { throw CDCError("wal2json begin without xid (is include-xids on?): \(text.prefix(200))") }
            self = .begin(xid: xid, commitLSN: fields["lsn"]?.stringValue.flatMap(LSN.init),
                          timestamp: fields["timestamp"]?.stringValue.flatMap(PostgresTimestamp.date))
        case "C":
            guard let xid else { throw CDCError("wal2json commit without xid (is include-xids on?): \(text.prefix(200))") }
            self = .commit(xid: xid)
        case "I", "U", "D":
            guard let schema = fields["schema"]?.stringValue, let table = fields["table"]?.stringValue else {
                throw CDCError("wal2json change without schema or table: \(text.prefix(200))")
            }
            let keyColumns = fields["pk"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            let operation: RowChange.Operation = action == "I" ? .insert : action == "U" ? .update : .delete
            self = .change(table: TableName(schema: schema, table: table), operation: operation,
                           row: Self.columns(fields["columns"]), old: Self.columns(fields["identity"]), keyColumns: keyColumns)
        default:
            self = .other(action: action)
        }
    }

    /// `[{"name","type","value"}]` as name → value; nil when absent.
    private static func columns(_ value: JSONValue?) -> [String: JSONValue]? {
        guard let array = value?.arrayValue else { return nil }
        var row: [String: JSONValue] = [:]
        for column in array {
            if let name = column["name"]?.stringValue { row[name] = column["value"] ?? .null }
        }
        return row
    }
}

/// PostgreSQL's text form of a `timestamptz` (`2026-12-03 15:22:31.014558+00`, `…+05:30`).
enum PostgresTimestamp {
    static func date(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            return Int(String(decoding: scalars[range], as: UTF8.self))
        }
        guard scalars.count >= 22, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < scalars.count, scalars[index] == UInt8(ascii: ".") {
            var scale = 0.1
            index += 1
            while index < scalars.count, (48...57).contains(scalars[index]) {
                fraction += Double(scalars[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        guard index < scalars.count, scalars[index] == UInt8(ascii: "+") || scalars[index] == UInt8(ascii: "-") else { return nil }
        let sign = scalars[index] == UInt8(ascii: "+") ? 1 : -1
        guard let offsetHours = number(index + 1..<index + 3) else { return nil }
        let offsetMinutes = index + 6 <= scalars.count ? number(index + 4..<index + 6) ?? 0 : 0
        // Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146097 + dayOfEra - 719468
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - sign * (offsetHours * 3600 + offsetMinutes * 60)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

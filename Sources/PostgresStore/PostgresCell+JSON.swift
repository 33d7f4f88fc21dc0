import JSON
import PostgresNIO

extension PostgresCell {
    /// The value as JSON: NULL as `null`, integers as `int`, text as `string`, booleans, floats.
    /// Other types throw (a digest's SELECT casts them).
    private func jsonValue() throws -> JSONValue {
        guard bytes != nil else { return .null }
        switch dataType {
        case .int8, .int4, .int2: return .int(try decode(Int64.self))
        case .text, .varchar, .name, .bpchar: return .string(try decode(String.self))
        case .bool: return .bool(try decode(Bool.self))
        case .float8, .float4: return .double(try decode(Double.self))
        default:
            throw PostgresQueryError(sqlState: "-----", message: "column \(columnName) has type \(dataType), which a read model cannot return (cast it)")
        }
    }

    /// The value as SQLite's `DatabaseValue.description` writes it (`NULL`, `42`, `"text"`), so
    /// that a digest over the same rows equals the embedded model's.
    func digestText() throws -> String {
        switch try jsonValue() {
        case .null: "NULL"
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .string(let text): String(reflecting: text)
        case let other: other.jsonString
        }
    }
}

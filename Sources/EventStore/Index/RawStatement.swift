import Foundation
import GRDB
// GRDB's own system-library module (a public product of GRDB); the hot append and read paths
// bind and read columns with the SQLite C API to avoid a `DatabaseValue`/`Data` per column.
import GRDBSQLite

/// A cached GRDB statement driven through the SQLite C API.
///
/// GRDB's `StatementArguments` box every value and copy every blob into `Data`; at a few
/// microseconds per event that is most of the budget, so the hot paths (the store's index, the
/// read models' apply) bind and read raw. Every use ends with `reset()` so the statement goes
/// back to GRDB's cache clean.
public struct RawStatement {
    public let statement: Statement
    private let handle: SQLiteStatement
    private let connection: SQLiteConnection?

    public init(_ db: Database, sql: String) throws {
        statement = try db.cachedStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection
    }

    // MARK: Binding (1-based indexes, as in SQLite)

    public func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, value)
    }

    public func bind(_ value: String, at index: Int32) {
        var value = value
        value.withUTF8 { bind(text: $0, at: index) }
    }

    /// Binds UTF-8 bytes as text (copied now, so they need not outlive the call).
    public func bind(text bytes: UnsafeBufferPointer<UInt8>, at index: Int32) {
        // A zero-length text still needs a non-null pointer, or SQLite binds NULL.
        let start = UnsafeRawPointer(bytes.baseAddress ?? emptyBytes).assumingMemoryBound(to: CChar.self)
        _ = sqlite3_bind_text(handle, index, start, Int32(bytes.count), sqliteTransient)
    }

    public func bindNull(at index: Int32) {
        sqlite3_bind_null(handle, index)
    }

    public func bind(_ value: [UInt8], at index: Int32) {
        value.withUnsafeBufferPointer { bytes in
            // An empty array has no base address and sqlite3_bind_blob(NULL) would store NULL,
            // not an empty blob.
            _ = sqlite3_bind_blob(handle, index, bytes.baseAddress ?? emptyBytes, Int32(bytes.count), sqliteTransient)
        }
    }

    public func bindOptional(_ value: [UInt8]?, at index: Int32) {
        if let value {
            bind(value, at: index)
        } else {
            sqlite3_bind_null(handle, index)
        }
    }

    public func bind(_ value: UUID, at index: Int32) {
        withUnsafeBytes(of: value.uuid) { bytes in
            _ = sqlite3_bind_blob(handle, index, bytes.baseAddress, 16, sqliteTransient)
        }
    }

    // MARK: Stepping

    /// Steps once: true when a row is available, false when done.
    public func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(code)
        }
    }

    /// Steps a statement that returns no row.
    public func run() throws {
        defer { reset() }
        _ = try step()
    }

    /// Resets the statement and clears its bindings, so no pointer outlives the call.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = connection.map { String(cString: sqlite3_errmsg($0)) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }

    // MARK: Columns (0-based indexes, as in SQLite)

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    public func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    public func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    public func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let blob = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: blob, count: count))
    }

    public func uuid(_ column: Int32) -> UUID? {
        guard sqlite3_column_bytes(handle, column) == 16, let blob = sqlite3_column_blob(handle, column) else {
            return nil
        }
        return UUID(uuid: blob.loadUnaligned(as: uuid_t.self))
    }
}

/// A valid pointer to zero bytes: a static string's storage lives as long as the program.
private var emptyBytes: UnsafePointer<UInt8> { ("" as StaticString).utf8Start }

/// SQLite's "copy the value now" destructor, which Swift cannot import as a constant.
private var sqliteTransient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

import GRDB

/// Runs `sql` against the SQLite database at `path` (which must not be in use by a writer): for
/// tests that damage an index or a store on purpose.
/// - Returns: the number of rows the last statement changed.
@discardableResult
public func executeSQL(_ sql: String, inDatabaseAt path: String) throws -> Int {
    let database = try DatabaseQueue(path: path)
    defer { try? database.close() }
    return try database.write { db in
        try db.execute(sql: sql)
        return db.changesCount
    }
}

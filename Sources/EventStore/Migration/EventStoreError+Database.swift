import GRDB

extension EventStoreError {
    /// Translates SQLite's failures into the store's vocabulary; other errors pass through.
    ///
    /// "Not a database" and corruption become `.damaged`; everything else SQLite reports
    /// (I/O, full disk, permissions, busy) becomes `.io`, naming the file and what was being done.
    /// - Parameters:
    ///   - error: What was thrown.
    ///   - path: The database file.
    ///   - action: What was being done, e.g. "open" or "read".
    ///   - consequence: What the failure means for the caller, e.g. "nothing was written".
    static func translating(_ error: any Error, path: String, action: String, consequence: String? = nil) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        let reason = error.message ?? "\(error.resultCode)"
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return EventStoreError(.damaged, "\(path) is damaged or not an SQLite database: \(reason)")
        default:
            return EventStoreError(.io, "cannot \(action) \(path)\(consequence.map { ", " + $0 } ?? ""): \(reason)")
        }
    }
}

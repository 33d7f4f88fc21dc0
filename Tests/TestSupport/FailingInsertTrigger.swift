import Foundation
import GRDB

/// Makes the event store in `dataDirectory` abort, inside its transaction, every insert of an
/// event of `type`: a failure at commit time that no request check can see coming, as a full disk
/// or an I/O error would be. The store must be closed while this runs.
public func installFailingInsertTrigger(inStoreAt dataDirectory: String, type: String = "Boom") throws {
    let database = try DatabaseQueue(path: (dataDirectory as NSString).appendingPathComponent("events.sqlite"))
    try database.write { db in
        // Triggers cannot take bound parameters, so the type is quoted into the SQL.
        let literal = "'" + type.replacingOccurrences(of: "'", with: "''") + "'"
        try db.execute(
            sql: "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.type = \(literal) BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    }
    try database.close()
}

import CSodium
import Foundation
import JSON

/// The deterministic id of an event made from a row change: a version 8 UUID (RFC 9562) whose
/// bits are the SHA-256 of the change's place, so reading the same change again (a re-peek
/// after a crash, a resumed snapshot) gives the same id and the write node's idempotency and the
/// relay's exact expected versions store it once.
///
/// The place of a streamed change is the slot, the change's LSN, its ordinal at that LSN and
/// the event's index among those the mapping made of it; of a snapshot row, the slot, the
/// snapshot's id, the table and the primary key.
enum ChangeEventID {
    static func make(slot: String, origin: RowChange.Origin, table: TableName, key: [JSONValue]?, index: Int) -> UUID {
        let name: String
        switch origin {
        case .wal(let lsn, let ordinal, _, _):
            name = "prism-cdc\u{0}\(slot)\u{0}wal\u{0}\(lsn)\u{0}\(ordinal)\u{0}\(index)"
        case .snapshot(let id):
            name = "prism-cdc\u{0}\(slot)\u{0}snapshot\u{0}\(id)\u{0}\(table)\u{0}\(key.map { JSONValue.array($0).jsonString } ?? "")\u{0}\(index)"
        }
        let bytes = Array(name.utf8)
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        _ = crypto_hash_sha256(&digest, bytes, UInt64(bytes.count))
        digest[6] = 0x80 | (digest[6] & 0x0F)  // version 8: custom
        digest[8] = 0x80 | (digest[8] & 0x3F)  // RFC 4122 variant
        return UUID(uuid: (
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
            digest[8], digest[9], digest[10], digest[11], digest[12], digest[13], digest[14], digest[15]))
    }
}

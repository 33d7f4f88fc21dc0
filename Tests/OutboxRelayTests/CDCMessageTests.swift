import Foundation
import JSON
@testable import OutboxRelay
import Testing

/// wal2json format-version 2 rows (as PostgreSQL 15 with wal2json 2.5 wrote them) into
/// transactions, the snapshot rule, and the deterministic ids.
@Suite struct CDCMessageTests {
    /// A transaction inserting an order and moving its user, then a COPY of two rows (one WAL
    /// record), then an empty transaction and a transaction whose commit is not read yet.
    static let rows: [(lsn: LSN, data: String)] = [
        ("0/1959CC8", #"{"action":"B","xid":732,"timestamp":"2026-12-03 15:22:31.028719+00","lsn":"0/1959F50","nextlsn":"0/1959F80"}"#),
        ("0/1959CC8", #"{"action":"I","xid":732,"lsn":"0/1959CC8","schema":"public","table":"orders","columns":[{"name":"order_id","type":"text","value":"o1"},{"name":"user_id","type":"text","value":"u1"},{"name":"amount_cents","type":"bigint","value":4999},{"name":"description","type":"text","value":"red shoes"},{"name":"status","type":"text","value":"payment_pending"},{"name":"cancel_reason","type":"text","value":null}],"pk":[{"name":"order_id","type":"text"}]}"#),
        ("0/1959E08", #"{"action":"U","xid":732,"lsn":"0/1959E08","schema":"public","table":"users","columns":[{"name":"user_id","type":"text","value":"u1"},{"name":"name","type":"text","value":"Ann"},{"name":"state","type":"text","value":"Texas"}],"identity":[{"name":"user_id","type":"text","value":"u1"},{"name":"name","type":"text","value":"Ann"},{"name":"state","type":"text","value":"California"}],"pk":[{"name":"user_id","type":"text"}]}"#),
        ("0/1959F80", #"{"action":"C","xid":732,"timestamp":"2026-12-03 15:22:31.028719+00","lsn":"0/1959F50","nextlsn":"0/1959F80"}"#),
        ("0/195A1A0", #"{"action":"B","xid":736,"lsn":"0/195A278","nextlsn":"0/195A2A8"}"#),
        ("0/195A1A0", #"{"action":"I","xid":736,"lsn":"0/195A1A0","schema":"public","table":"other","columns":[{"name":"id","type":"integer","value":3}],"pk":[{"name":"id","type":"integer"}]}"#),
        ("0/195A1A0", #"{"action":"I","xid":736,"lsn":"0/195A1A0","schema":"public","table":"other","columns":[{"name":"id","type":"integer","value":4}],"pk":[{"name":"id","type":"integer"}]}"#),
        ("0/195A1A0", #"{"action":"T","xid":736}"#),
        ("0/195A2A8", #"{"action":"C","xid":736,"lsn":"0/195A278","nextlsn":"0/195A2A8"}"#),
        ("0/195A2A8", #"{"action":"B","xid":737}"#),
        ("0/195A300", #"{"action":"C","xid":737}"#),
        ("0/195A300", #"{"action":"B","xid":738}"#),
        ("0/195A300", #"{"action":"I","xid":738,"schema":"public","table":"users","columns":[],"pk":[]}"#),
    ].map { (lsn: LSN($0.0)!, data: $0.1) }

    @Test func lsnRoundTripsAndOrders() {
        #expect(LSN("16/B374D848")?.value == 0x16_B374_D848)
        #expect(LSN("16/B374D848")?.description == "16/B374D848")
        #expect(LSN("0/1")! < LSN("1/0")!)
        #expect(LSN("0/") == nil && LSN("12") == nil && LSN("x/1") == nil)
    }

    @Test func tableNames() {
        #expect(TableName("users") == TableName(schema: "public", table: "users"))
        #expect(TableName("sales.orders")?.description == "sales.orders")
        #expect(TableName("a.b.c") == nil && TableName(".b") == nil && TableName("") == nil)
        #expect(TableName(schema: "my\"s", table: "t").quoted == #""my""s"."t""#)
    }

    @Test func assemblesWholeTransactionsOnly() throws {
        let (transactions, skipped) = try CommittedTransaction.assemble(Self.rows)
        #expect(transactions.map(\.xid) == [732, 736, 737])
        #expect(skipped == 1)
        let first = transactions[0]
        #expect(first.commitLSN == LSN("0/1959F50") && first.endLSN == LSN("0/1959F80"))
        #expect(abs(try #require(first.committedAt).timeIntervalSince1970 - 1_796_311_351.028719) < 1e-6)
        #expect(first.changes.map(\.operation) == [.insert, .update])
        #expect(first.changes[0].row?["amount_cents"] == .int(4999))
        #expect(first.changes[0].row?["cancel_reason"] == .null)
        #expect(first.changes[0].keyText == "o1")
        #expect(first.changes[1].old?["state"] == "California")
        #expect(first.changes[1].origin == .wal(lsn: LSN("0/1959E08")!, ordinal: 0, xid: 732, commitLSN: LSN("0/1959F50")!))
        // The two COPY rows share one WAL record: the ordinal tells them apart.
        #expect(transactions[1].changes.map(\.origin) == [
            .wal(lsn: LSN("0/195A1A0")!, ordinal: 0, xid: 736, commitLSN: LSN("0/195A278")!),
            .wal(lsn: LSN("0/195A1A0")!, ordinal: 1, xid: 736, commitLSN: LSN("0/195A278")!),
        ])
        #expect(transactions[2].changes.isEmpty && transactions[2].endLSN == LSN("0/195A300"))
    }

    @Test func refusesWhatWal2jsonDoesNotWrite() {
        #expect(throws: CDCError.self) { try CommittedTransaction.assemble([(LSN(1), "not json")]) }
        #expect(throws: CDCError.self) { try CommittedTransaction.assemble([(LSN(1), #"{"action":"B"}"#)]) }
        #expect(throws: CDCError.self) { try CommittedTransaction.assemble([(LSN(1), #"{"action":"C","xid":5}"#)]) }
    }

    @Test func timestamps() {
        #expect(PostgresTimestamp.date("1970-01-01 00:00:00+00") == Date(timeIntervalSince1970: 0))
        #expect(PostgresTimestamp.date("1970-01-01 05:30:00.25+05:30") == Date(timeIntervalSince1970: 0.25))
        #expect(PostgresTimestamp.date("2000-03-01 00:00:00-01") == Date(timeIntervalSince1970: 951_868_800 + 3600))
        #expect(PostgresTimestamp.date("yesterday") == nil)
    }

    @Test func snapshotVisibility() throws {
        let snapshot = try #require(SnapshotVisibility("100:105:101,103"))
        #expect(snapshot.description == "100:105:101,103")
        // Finished before xmin, or between xmin and xmax and not running: seen.
        #expect(snapshot.sees(99) && snapshot.sees(100) && snapshot.sees(102) && snapshot.sees(104))
        // Running at the snapshot, or started after it: not seen.
        #expect(!snapshot.sees(101) && !snapshot.sees(103) && !snapshot.sees(105) && !snapshot.sees(200))
        #expect(SnapshotVisibility("5:4:") == nil && SnapshotVisibility("1:2") == nil && SnapshotVisibility("1:2:x") == nil)
        // 32-bit ids are placed in the epoch nearest xmax.
        let wrapped = try #require(SnapshotVisibility("\((UInt64(1) << 32) + 10):\((UInt64(1) << 32) + 20):"))
        #expect(wrapped.sees(5) && !wrapped.sees(25))
        #expect(wrapped.sees(UInt32.max - 3))  // the previous epoch's last transactions
    }

    @Test func eventIDsAreDeterministicAndApart() {
        let table = TableName(table: "orders")
        let wal = RowChange.Origin.wal(lsn: LSN(42), ordinal: 0, xid: 7, commitLSN: LSN(50))
        let id = ChangeEventID.make(slot: "s", origin: wal, table: table, key: ["o1"], index: 0)
        #expect(id == ChangeEventID.make(slot: "s", origin: wal, table: table, key: ["o1"], index: 0))
        #expect(id.uuidString.dropFirst(14).first == "8")  // version 8
        let others = [
            ChangeEventID.make(slot: "s", origin: wal, table: table, key: ["o1"], index: 1),
            ChangeEventID.make(slot: "t", origin: wal, table: table, key: ["o1"], index: 0),
            ChangeEventID.make(slot: "s", origin: .wal(lsn: LSN(42), ordinal: 1, xid: 7, commitLSN: LSN(50)), table: table, key: ["o1"], index: 0),
            ChangeEventID.make(slot: "s", origin: .snapshot(id: "1:2:"), table: table, key: ["o1"], index: 0),
            ChangeEventID.make(slot: "s", origin: .snapshot(id: "1:2:"), table: table, key: ["o2"], index: 0),
            ChangeEventID.make(slot: "s", origin: .snapshot(id: "1:2:"), table: table, key: ["a-b", "c"], index: 0),
            ChangeEventID.make(slot: "s", origin: .snapshot(id: "1:2:"), table: table, key: ["a", "b-c"], index: 0),
        ]
        #expect(Set(others + [id]).count == others.count + 1)
    }
}

import Foundation

/// One committed transaction as the slot decoded it: its captured row changes in commit order.
///
/// A transaction is the unit of acknowledgement: the slot advances to `endLSN` only once
/// every event of the transaction is in the log, so a crash never splits one.
public struct CommittedTransaction: Sendable, Equatable {
    public var xid: UInt32
    /// Where the commit record starts: the transaction's place in commit order.
    public var commitLSN: LSN
    /// Where the commit record ends: the slot's position once this transaction is relayed
    /// (`pg_replication_slot_advance` target; the next peek starts after it).
    public var endLSN: LSN
    public var committedAt: Date?
    /// Row changes of the captured tables, empty when the transaction touched none of them.
    public var changes: [RowChange]

    /// Groups peeked rows `(lsn, data)` into whole transactions; the rows of a transaction
    /// whose commit is not among them yet are left out (the next peek returns them again).
    ///
    /// - Returns: the transactions, and how many truncates or logical messages were skipped.
    /// - Throws: `CDCError` for a row that is not wal2json format version 2.
    static func assemble(_ rows: [(lsn: LSN, data: String)]) throws(CDCError) -> (transactions: [CommittedTransaction], skipped: Int) {
        var transactions: [CommittedTransaction] = []
        var open: CommittedTransaction?
        var skipped = 0
        // The how-many-th change at one LSN: a multi-row insert logs its rows in one record.
        var previousLSN: LSN?
        var ordinal = 0
        for (lsn, data) in rows {
            switch try Wal2JSONMessage(parsing: data) {
            case .begin(let xid, let commitLSN, let timestamp):
                open = CommittedTransaction(xid: xid, commitLSN: commitLSN ?? lsn, endLSN: lsn, committedAt: timestamp, changes: [])
                previousLSN = nil
            case .commit(let xid):
                guard var transaction = open, transaction.xid == xid else {
                    throw CDCError("wal2json commit of transaction \(xid) at \(lsn) without its begin")
                }
                transaction.endLSN = lsn
                transactions.append(transaction)
                open = nil
            case .change(let table, let operation, let row, let old, let keyColumns):
                guard let transaction = open else { throw CDCError("wal2json change at \(lsn) outside a transaction") }
                ordinal = lsn == previousLSN ? ordinal + 1 : 0
                previousLSN = lsn
                open!.changes.append(RowChange(
                    table: table, operation: operation, row: row, old: old, keyColumns: keyColumns,
                    origin: .wal(lsn: lsn, ordinal: ordinal, xid: transaction.xid, commitLSN: transaction.commitLSN)))
            case .other:
                skipped += 1
            }
        }
        return (transactions, skipped)
    }
}

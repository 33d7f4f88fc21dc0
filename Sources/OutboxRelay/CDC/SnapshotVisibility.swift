/// Which transactions a snapshot (`pg_current_snapshot()`: `xmin:xmax:xip,…`) sees as committed.
///
/// The initial snapshot's rule: the slot is created first, then the tables are read in a
/// REPEATABLE READ transaction whose snapshot this is. A streamed transaction that the snapshot
/// sees committed is already in the rows read, so its changes to those rows are skipped; every
/// other streamed transaction committed after the snapshot and is emitted.
public struct SnapshotVisibility: Sendable, Equatable, CustomStringConvertible {
    /// The oldest transaction still running at the snapshot: everything below it had finished.
    public var xmin: UInt64
    /// One past the newest transaction that had started: nothing from here on is seen.
    public var xmax: UInt64
    /// The transactions between the two that were still running.
    public var running: Set<UInt64>

    /// Parses `pg_snapshot`'s text form: `737:740:737,739` (64-bit transaction ids).
    public init?(_ text: some StringProtocol) {
        let parts = String(text).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let xmin = UInt64(parts[0]), let xmax = UInt64(parts[1]), xmin <= xmax else { return nil }
        var running = Set<UInt64>()
        for item in parts[2].split(separator: ",") {
            guard let xid = UInt64(item) else { return nil }
            running.insert(xid)
        }
        self.xmin = xmin
        self.xmax = xmax
        self.running = running
    }

    public var description: String {
        "\(xmin):\(xmax):" + running.sorted().map(String.init).joined(separator: ",")
    }

    /// Whether a transaction the snapshot could know had committed when it was taken.
    ///
    /// - Parameter xid: the 32-bit id wal2json reports; its epoch is taken as the one that puts it
    ///   nearest `xmax` (a transaction streamed after a snapshot lies within 2^31 of it).
    public func sees(_ xid: UInt32) -> Bool {
        let full = widened(xid)
        if full < xmin { return true }
        return full < xmax && !running.contains(full)
    }

    /// `xid` with the epoch that puts it nearest `xmax`.
    func widened(_ xid: UInt32) -> UInt64 {
        let epoch = xmax >> 32
        var candidate = Int64(bitPattern: epoch << 32 | UInt64(xid))
        let reference = Int64(bitPattern: xmax)
        if candidate - reference > Int64(1) << 31 { candidate -= Int64(1) << 32 }
        if reference - candidate > Int64(1) << 31 { candidate += Int64(1) << 32 }
        return UInt64(max(candidate, 0))
    }
}

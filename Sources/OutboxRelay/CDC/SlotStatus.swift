import JSON

/// How much WAL the CDC slot holds back, as `health` and `stats` report it.
///
/// A slot keeps every WAL segment from its `restart_lsn` on: a relay that stops, or a write
/// node that stays down, makes PostgreSQL retain WAL without bound unless the server sets
/// `max_slot_wal_keep_size`. Past that size the slot is invalidated (`wal_status` `lost`) and
/// CDC must start over with a new slot and snapshot, which `health` then reports as failed.
public struct SlotStatus: Sendable, Equatable {
    public var slot: String
    public var exists: Bool
    /// `reserved` (within max_wal_size), `extended` (beyond it, kept for the slot), `unreserved`
    /// (beyond max_slot_wal_keep_size: lost at the next checkpoint), `lost`.
    public var walStatus: String?
    /// The WAL between the slot's restart position and the current position.
    public var retainedBytes: Int64?
    /// How much more WAL may be written before the slot is lost; nil without a limit.
    public var safeWALBytes: Int64?
    public var confirmedFlush: LSN?
    public var currentLSN: LSN?
    /// The server's `max_slot_wal_keep_size` (`-1`: no limit).
    public var maxSlotWALKeepSize: String?

    public init(slot: String, exists: Bool, walStatus: String? = nil, retainedBytes: Int64? = nil, safeWALBytes: Int64? = nil,
                confirmedFlush: LSN? = nil, currentLSN: LSN? = nil, maxSlotWALKeepSize: String? = nil) {
        self.slot = slot
        self.exists = exists
        self.walStatus = walStatus
        self.retainedBytes = retainedBytes
        self.safeWALBytes = safeWALBytes
        self.confirmedFlush = confirmedFlush
        self.currentLSN = currentLSN
        self.maxSlotWALKeepSize = maxSlotWALKeepSize
    }

    /// Whether the slot can still deliver every change: it exists and its WAL is not lost.
    public var isHealthy: Bool { exists && walStatus != "lost" }

    public var json: JSONValue {
        var fields: [String: JSONValue] = ["slot": .string(slot), "exists": .bool(exists)]
        if let walStatus { fields["walStatus"] = .string(walStatus) }
        if let retainedBytes { fields["retainedBytes"] = .int(retainedBytes) }
        if let safeWALBytes { fields["safeWalBytes"] = .int(safeWALBytes) }
        if let confirmedFlush { fields["confirmedLsn"] = .string(confirmedFlush.description) }
        if let currentLSN { fields["currentLsn"] = .string(currentLSN.description) }
        if let maxSlotWALKeepSize { fields["maxSlotWalKeepSize"] = .string(maxSlotWALKeepSize) }
        return .object(fields)
    }
}

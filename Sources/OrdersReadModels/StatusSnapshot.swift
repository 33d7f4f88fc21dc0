#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ProjectionRuntime

/// The status projection's whole state in one file: the checkpoint and every order, so that the
/// checkpoint is stored with the model it describes.
///
/// Format, version 1 (integers little-endian, `varint` = unsigned LEB128):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `PRSMSTAT` |
/// | 8 | 4 | format version, `1` |
/// | 12 | 4 | reserved, `0` |
/// | 16 | 8 | length of the whole file in bytes |
/// | 24 | 8 | checkpoint (signed) |
/// | 32 | 8 | number of users |
/// | 40 | 8 | number of orders |
/// | 48 | … | per user: varint length + user id (UTF-8), varint order count, then per order in creation order: varint length + order id, status byte (1 payment_pending, 2 paid, 3 shipped, 4 cancelled) |
/// | end − 8 | 8 | checksum of every byte before it (`StatusSnapshot.checksum`) |
///
/// Each order sits under its user, so the file holds both maps without repeating user ids.
struct StatusSnapshot {
    static let magic: [UInt8] = Array("PRSMSTAT".utf8)
    static let version: UInt32 = 1
    static let headerSize = 48
    static let minimumSize = headerSize + 8

    var checkpoint: Int64
    var orders: [String: StatusOrderEntry]
    var userOrders: [String: [String]]

    // MARK: - Encoding

    /// The file's bytes for this state.
    static func encode(checkpoint: Int64, orders: [String: StatusOrderEntry], userOrders: [String: [String]]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(minimumSize + userOrders.count * 16 + orders.count * 20)
        bytes.append(contentsOf: magic)
        appendFixed(version, to: &bytes)
        appendFixed(UInt32(0), to: &bytes)
        appendFixed(UInt64(0), to: &bytes)  // length, patched below
        appendFixed(UInt64(bitPattern: checkpoint), to: &bytes)
        appendFixed(UInt64(userOrders.count), to: &bytes)
        appendFixed(UInt64(orders.count), to: &bytes)
        for (userId, orderIds) in userOrders {
            appendString(userId, to: &bytes)
            appendVarint(UInt64(orderIds.count), to: &bytes)
            for orderId in orderIds {
                appendString(orderId, to: &bytes)
                // Every listed order is in the map: both are only ever changed together.
                bytes.append(orders[orderId]!.status.rawValue)
            }
        }
        let length = UInt64(bytes.count + 8)
        withUnsafeBytes(of: length.littleEndian) { raw in
            for index in 0..<8 { bytes[16 + index] = raw[index] }
        }
        let sum = bytes.withUnsafeBytes { checksum($0) }
        appendFixed(sum, to: &bytes)
        return bytes
    }

    private static func appendFixed<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private static func appendString(_ text: String, to bytes: inout [UInt8]) {
        var text = text
        text.withUTF8 { utf8 in
            appendVarint(UInt64(utf8.count), to: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }

    /// FNV-1a over little-endian 64-bit words (then the odd tail bytes and the length), finished
    /// with a 64-bit mixer. Any single changed bit changes it; it guards against torn and damaged
    /// files, not against tampering.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let prime: UInt64 = 0x0000_0100_0000_01B3
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        let words = bytes.count / 8
        for index in 0..<words {
            state = (state ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))) &* prime
        }
        for index in (words * 8)..<bytes.count {
            state = (state ^ UInt64(bytes[index])) &* prime
        }
        state = (state ^ UInt64(bytes.count)) &* prime
        state ^= state >> 33
        state = state &* 0xff51_afd7_ed55_8ccd
        state ^= state >> 33
        return state
    }

    // MARK: - Decoding

    /// Decodes a whole snapshot file.
    ///
    /// - Parameter path: the file's path, for messages.
    /// - Throws: `StatusSnapshotError.corrupt` naming the file and what is wrong with it.
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(StatusSnapshotError) -> StatusSnapshot {
        func corrupt(_ problem: String) -> StatusSnapshotError {
            StatusSnapshotError(
                .corrupt, path: path,
                "status snapshot \(path) is corrupt: \(problem); delete it to rebuild the status model from the log")
        }
        if bytes.count >= 8, !bytes.prefix(8).elementsEqual(magic) {
            throw StatusSnapshotError(
                .corrupt, path: path,
                "\(path) is not a status snapshot (its first bytes are not PRSMSTAT); delete it to rebuild the status model from the log")
        }
        if bytes.count < minimumSize {
            throw corrupt("truncated: \(bytes.count) bytes, less than the \(minimumSize)-byte minimum")
        }
        func fixed(_ offset: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        let version = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        if version != Self.version {
            throw corrupt("format version \(version), but this build reads version \(Self.version)")
        }
        let length = fixed(16)
        if length != UInt64(bytes.count) {
            let what = length > UInt64(bytes.count) ? "truncated" : "longer than written"
            throw corrupt("\(what): \(bytes.count) bytes, but the header says \(length)")
        }
        let bodyEnd = bytes.count - 8
        let stored = fixed(bodyEnd)
        let computed = checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<bodyEnd]))
        if stored != computed {
            throw corrupt("checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))")
        }
        let checkpoint = Int64(bitPattern: fixed(24))
        let userCount = fixed(32)
        let orderCount = fixed(40)
        // Each user takes at least 2 bytes and each order at least 2, so larger counts are lies.
        guard checkpoint >= 0, userCount <= UInt64(bodyEnd) / 2, orderCount <= UInt64(bodyEnd) / 2 else {
            throw corrupt("impossible header (checkpoint \(checkpoint), \(userCount) users, \(orderCount) orders)")
        }
        var reader = Reader(bytes: bytes, index: headerSize, end: bodyEnd)
        var orders: [String: StatusOrderEntry] = [:]
        orders.reserveCapacity(Int(orderCount))
        var userOrders: [String: [String]] = [:]
        userOrders.reserveCapacity(Int(userCount))
        var ordersSeen: UInt64 = 0
        for _ in 0..<userCount {
            guard let userId = reader.string() else { throw corrupt("truncated at byte \(reader.index) reading a user id") }
            guard let count = reader.varint(), count <= UInt64(bodyEnd - reader.index) / 2 else {
                throw corrupt("bad order count for user \(userId) at byte \(reader.index)")
            }
            var orderIds: [String] = []
            orderIds.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let orderId = reader.string() else {
                    throw corrupt("truncated at byte \(reader.index) reading an order id of user \(userId)")
                }
                guard let byte = reader.byte(), let status = StatusOrderState(rawValue: byte) else {
                    throw corrupt("bad status byte at byte \(reader.index - 1) for order \(orderId)")
                }
                if orders.updateValue(StatusOrderEntry(status: status, userId: userId), forKey: orderId) != nil {
                    throw corrupt("order \(orderId) appears twice")
                }
                orderIds.append(orderId)
            }
            ordersSeen += count
            if userOrders.updateValue(orderIds, forKey: userId) != nil { throw corrupt("user \(userId) appears twice") }
        }
        if ordersSeen != orderCount { throw corrupt("the header says \(orderCount) orders, the body holds \(ordersSeen)") }
        if reader.index != bodyEnd { throw corrupt("\(bodyEnd - reader.index) unexpected bytes after the last user") }
        return StatusSnapshot(checkpoint: checkpoint, orders: orders, userOrders: userOrders)
    }

    private static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index: Int
        let end: Int

        mutating func byte() -> UInt8? {
            guard index < end else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while shift < 64 {
                guard let byte = byte() else { return nil }
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }

        mutating func string() -> String? {
            guard let length = varint(), length <= UInt64(end - index) else { return nil }
            let count = Int(length)
            defer { index += count }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + count)]), as: UTF8.self)
        }
    }

    // MARK: - Files

    /// Reads and decodes the snapshot at `path`, or returns nil when there is no such file.
    ///
    /// - Throws: `StatusSnapshotError` when the file cannot be read or is not an intact snapshot.
    static func load(path: String) throws -> StatusSnapshot? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw ioError("cannot open", path)
        }
        defer { close(descriptor) }
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw ioError("cannot stat", path) }
        let size = Int(info.st_size)
        var failure: StatusSnapshotError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var done = 0
            while done < size {
                let count = read(descriptor, buffer.baseAddress! + done, size - done)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = ioError("cannot read", path)
                    break
                }
                if count == 0 { break }  // shrank under us: decode reports the truncation
                done += count
            }
            initialized = done
        }
        if let failure { throw failure }
        return try bytes.withUnsafeBytes { raw in try decode(raw, path: path) }
    }

    /// Replaces the file at `path` atomically (`DurableFile.replace`: `<path>.tmp`, fsync, rename,
    /// directory fsync), so that a crash leaves the old snapshot or the new one.
    static func save(_ bytes: [UInt8], path: String) throws(StatusSnapshotError) {
        do {
            try DurableFile.replace(path, with: bytes)
        } catch {
            throw StatusSnapshotError(.io, path: path, "cannot save \(path): \(error)")
        }
    }

    /// Deletes the snapshot and any leftover temporary file; absent files are fine.
    static func remove(path: String, directory: String) throws(StatusSnapshotError) {
        for file in [path, path + ".tmp"] where unlink(file) != 0 && errno != ENOENT {
            throw ioError("cannot delete", file)
        }
        do {
            try DurableFile.syncDirectory(directory)
        } catch {
            throw StatusSnapshotError(.io, path: directory, "cannot sync \(directory): \(error)")
        }
    }

    private static func ioError(_ action: String, _ path: String) -> StatusSnapshotError {
        let code = errno
        return StatusSnapshotError(.io, path: path, "\(action) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
}

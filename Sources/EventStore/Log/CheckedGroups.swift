/// The last few groups read from the log and checked whole (header, then one CRC-32C over the
/// body), kept for the reads that continue them: a catch-up cut by its limit inside a large
/// group asks for the rest of that group next. The buffers are reused, never zeroed.
struct CheckedGroups {
    private var groups: [CheckedGroup] = []  // least recently used first
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// The group the index names, from the cache or read and checked.
    /// - Throws: `LogFormat.RecordProblem` when the log does not hold that whole valid group there.
    mutating func group(_ group: LogIndex.Group, in file: any LogFile) throws -> CheckedGroup {
        if let index = groups.firstIndex(where: { $0.position == group.position && $0.location == group.location }) {
            let hit = groups.remove(at: index)
            groups.append(hit)
            return hit
        }
        let entry = groups.count >= capacity ? groups.removeFirst() : CheckedGroup()
        do {
            try entry.load(group, from: file)
        } catch {
            groups.insert(entry, at: 0)  // emptied by the failed load: first to be reused
            throw error
        }
        groups.append(entry)
        return entry
    }
}

/// One group's bytes (header and body) in a buffer of its own, valid once `load` returned.
final class CheckedGroup: @unchecked Sendable {
    private(set) var position: Int64 = 0
    private(set) var location = LogLocation(segment: -1, offset: 0)
    private(set) var header = LogFormat.GroupHeader(bodyLength: 0, firstPosition: 0, count: 0, bodyChecksum: 0)
    private var storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 8)
    /// Where the last read of this group stopped: the record at `offset` holds `position`. A read
    /// that continues from there starts walking there, not at the group's first record.
    var resume: (position: Int64, offset: Int) = (0, 0)

    deinit { storage.deallocate() }

    /// The group's header and body.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage[0..<(LogFormat.groupHeaderLength + header.bodyLength)])
    }

    func load(_ group: LogIndex.Group, from file: any LogFile) throws {
        position = 0
        let headerBytes = UnsafeMutableRawBufferPointer(rebasing: storage[0..<LogFormat.groupHeaderLength])
        guard try file.read(at: group.location.offset, into: headerBytes) == LogFormat.groupHeaderLength,
              let header = LogFormat.decodeGroupHeader(UnsafeRawBufferPointer(headerBytes))
        else { throw LogFormat.RecordProblem(reason: "no valid group header") }
        guard header.firstPosition == group.position else {
            throw LogFormat.RecordProblem(reason: "a group starting at position \(header.firstPosition) where \(group.position) belongs")
        }
        let total = LogFormat.groupHeaderLength + header.bodyLength
        if total > storage.count {
            // A length read from damaged bytes may say up to 4 GiB: refuse what the file cannot hold.
            guard group.location.offset + total <= (try file.size()) else {
                throw LogFormat.RecordProblem(reason: "a group of \(header.bodyLength) bytes that runs past the end of the file")
            }
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, storage.count * 2), alignment: 8)
            grown.copyMemory(from: UnsafeRawBufferPointer(headerBytes))
            storage.deallocate()
            storage = grown
        }
        let body = UnsafeMutableRawBufferPointer(rebasing: storage[LogFormat.groupHeaderLength..<total])
        guard try file.read(at: group.location.offset + LogFormat.groupHeaderLength, into: body) == header.bodyLength else {
            throw LogFormat.RecordProblem(reason: "a group of \(header.bodyLength) bytes that runs past the end of the file")
        }
        guard CRC32C.checksum(UnsafeRawBufferPointer(body)) == header.bodyChecksum else {
            throw LogFormat.RecordProblem(reason: "group checksum mismatch")
        }
        self.header = header
        self.location = group.location
        resume = (header.firstPosition, LogFormat.groupHeaderLength)
        position = group.position
    }
}

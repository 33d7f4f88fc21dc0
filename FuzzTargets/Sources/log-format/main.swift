import FuzzSupport
// The log format is internal to EventStore: the fuzz build is a debug build, compiled with
// `-enable-testing`, so this target reads it as the store's own tests do rather than making it
// public.
@testable import EventStore

/// A segment file as recovery reads it: its header, then its groups in order through the
/// scanner's window, and past the first invalid group the search for a later valid one; each
/// group found is read again through `CheckedGroups` and each record through `RecordReader`, as
/// catch-ups and reads do.
///
/// The first byte chooses: bit 0 set, the checksums in the rest are recomputed first (so the
/// fuzzer reaches what lies behind them); the other bits size the scanner's window (so groups
/// span its edge). Properties: a decoded group written again gives the same header and body
/// bytes (when its text was UTF-8), and the cache and the record reader see what the scanner saw.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogFormat(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    guard let mode = bytes.first else { return 0 }
    var segment = Array(bytes.dropFirst())
    if mode & 1 == 1 { repairChecksums(&segment) }
    let file = MemoryLogFile(segment)
    let firstPosition = (try? LogFormat.decodeSegmentHeader(segment, path: "fuzz")) ?? 1

    var scanner: SegmentScanner
    do {
        scanner = try SegmentScanner(segment: LogSegment(firstPosition: firstPosition, file: file), windowBytes: 32 + Int(mode >> 1))
    } catch { fatalError("a scanner over memory: \(error)") }
    var checked = CheckedGroups(capacity: 2)
    var records = RecordReader()
    var offset = LogFormat.segmentHeaderLength
    var expected = firstPosition
    scan: while true {
        let step: SegmentScanner.Step
        do { step = try scanner.group(at: offset, expected: expected) } catch { fatalError("reading memory: \(error)") }
        guard case .group(let header, let events) = step else { break scan }
        require(events.count == header.count && events.first?.event.position == expected, "a group's events")
        checkRewrite(header, events.map(\.event), segment[offset..<(offset + LogFormat.groupHeaderLength + header.bodyLength)])
        let group = LogIndex.Group(position: expected, location: LogLocation(segment: firstPosition, offset: offset), count: header.count)
        require((try? checked.group(group, in: file))?.header == header, "CheckedGroups reads another group")
        for (event, recordOffset) in events {
            let read = try? records.record(at: LogLocation(segment: firstPosition, offset: recordOffset), in: file)
            require(read == event, "RecordReader reads another record at \(recordOffset)")
        }
        offset += header.totalLength
        expected += Int64(header.count)
    }
    if let found = try? scanner.firstValidGroup(from: offset + 1, to: segment.count) {
        require(found.offset > offset && found.offset % LogFormat.groupAlignment == 0, "a valid group found at \(found.offset)")
    }
    return 0
}

/// A group decoded from `stored` and written again gives the same header fields and body bytes.
func checkRewrite(_ header: LogFormat.GroupHeader, _ events: [RecordedEvent], _ stored: ArraySlice<UInt8>) {
    guard events.allSatisfy(\.hasUTF8Text) else { return }
    let rewritten = LogFormat.group(events).bytes
    require(rewritten.withUnsafeBytes { LogFormat.decodeGroupHeader($0) } == header, "a group written again has another header")
    require(rewritten[LogFormat.groupHeaderLength..<(LogFormat.groupHeaderLength + header.bodyLength)]
        == stored.dropFirst(LogFormat.groupHeaderLength), "a group written again has another body")
}

/// Sets every checksum a reader checks, walking the layout as far as it holds together: the
/// segment header's, then each group's records', body's and header's.
func repairChecksums(_ bytes: inout [UInt8]) {
    func load(_ offset: Int) -> Int {
        Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian })
    }
    func store(_ value: UInt32, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 4), with: $0) }
    }
    func checksum(_ range: Range<Int>) -> UInt32 {
        bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }
    guard bytes.count >= LogFormat.segmentHeaderLength else { return }
    store(checksum(0..<60), at: 60)
    var offset = LogFormat.segmentHeaderLength
    while offset + LogFormat.groupHeaderLength <= bytes.count, UInt32(load(offset)) == LogFormat.groupMagic {
        let bodyStart = offset + LogFormat.groupHeaderLength
        let end = bodyStart + load(offset + 4)
        guard end <= bytes.count else { return }
        var record = bodyStart
        while record + LogFormat.recordHeaderLength <= end {
            let length = load(record)
            guard length >= LogFormat.recordHeaderLength, record + length <= end else { break }
            store(checksum((record + 8)..<(record + length)), at: record + EventRecord.checksumOffset)
            record += length
        }
        store(checksum(bodyStart..<end), at: offset + 20)
        store(checksum(offset..<(offset + 28)), at: offset + 28)
        offset = LogFormat.aligned(end)
    }
}

/// A segment file held in memory; never written.
final class MemoryLogFile: LogFile {
    let bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var path: String { "fuzz.segment" }
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset < bytes.count else { return [] }
        return Array(bytes[offset..<min(bytes.count, offset + count)])
    }
    func write(_ bytes: [UInt8], at offset: Int) throws { fatalError("the fuzz target never writes") }
    func sync() throws {}
    func size() throws -> Int { bytes.count }
    func close() {}
}

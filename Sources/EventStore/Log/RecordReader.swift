/// Reads single records by location through a window of the file, so records read in log order
/// (a catch-up, a verify pass) cost one `pread` per megabyte rather than one each.
struct RecordReader {
    private var window: [UInt8] = []
    private var windowAt = LogLocation(segment: -1, offset: 0)
    static let windowBytes = 1 << 20

    /// The record at `location` of `file`, checked (length, checksum).
    /// - Throws: `RecordProblem` when there is no valid record there; `.io` when the file cannot be read.
    mutating func record(at location: LogLocation, in file: any LogFile) throws -> RecordedEvent {
        var start = location.offset - windowAt.offset
        if location.segment != windowAt.segment || start < 0 || start + LogFormat.recordHeaderLength > window.count {
            try load(location, file, count: Self.windowBytes)
            start = 0
        }
        let length = Int(window.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: start, as: UInt32.self).littleEndian })
        if start + length > window.count {
            // A length read from damaged bytes (or from a wrong location) may say up to 4 GiB:
            // refuse one that cannot fit in the file rather than allocate it.
            let fileSize = try file.size()
            guard length >= LogFormat.recordHeaderLength, location.offset + length <= fileSize else {
                throw LogFormat.RecordProblem(reason: "record length \(length) at \(location) is impossible (the file ends at \(fileSize))")
            }
            try load(location, file, count: max(length, Self.windowBytes))
            start = 0
        }
        return try window.withUnsafeBytes { raw in
            try LogFormat.decodeRecord(UnsafeRawBufferPointer(rebasing: raw[start...])).0
        }
    }

    private mutating func load(_ location: LogLocation, _ file: any LogFile, count: Int) throws {
        window = try file.read(at: location.offset, count: count)
        windowAt = location
        guard window.count >= LogFormat.recordHeaderLength else {
            throw LogFormat.RecordProblem(reason: "no record header at \(location) (the file ends at \(location.offset + window.count))")
        }
    }
}

@testable import EventStore
import Foundation
import TestSupport
import Testing

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("EventStoreTests-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func appending(_ component: String) -> String {
        (path as NSString).appendingPathComponent(component)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a fresh temporary directory, removing it afterwards.
@discardableResult
func withTemporaryDirectory<T>(_ body: (TemporaryDirectory) throws -> T) rethrows -> T {
    let directory = TemporaryDirectory()
    defer { directory.remove() }
    return try body(directory)
}

/// Runs `body` with a store opened in `<fresh temporary directory>/data`, closing and removing it afterwards.
func withStore<T>(options: EventStore.Options = .small(), _ body: (EventStore, String) throws -> T) throws -> T {
    try withTemporaryDirectory { directory in
        let dataDirectory = directory.appending("data")
        let store = try EventStore(directory: dataDirectory, options: options)
        defer { try? store.close() }
        return try body(store, dataDirectory)
    }
}

extension EventStore.Options {
    /// Small segments (64 KiB by default), so tests roll segments and stay small; optionally
    /// through a file system the test controls.
    static func small(segmentBytes: Int = 64 << 10, fileSystem: FaultInjectingFileSystem? = nil) -> EventStore.Options {
        var options = EventStore.Options()
        options.segmentBytes = segmentBytes
        if let fileSystem { options.fileSystem = fileSystem }
        return options
    }
}

/// An event with a small JSON payload.
func event(_ type: String = "Happened", id: UUID = UUID(), data: String = #"{"n":1}"#, metadata: String? = nil) -> NewEvent {
    NewEvent(id: id, type: type, data: Array(data.utf8), metadata: metadata.map { Array($0.utf8) })
}

/// An event whose data is `bytes` bytes long.
func event(bytes: Int, type: String = "Happened") -> NewEvent {
    NewEvent(type: type, data: Array(repeating: UInt8(ascii: "x"), count: bytes))
}

extension EventStore {
    /// Appends one request and returns its events, throwing its failure.
    @discardableResult
    func append(_ stream: String, _ expected: ExpectedVersion = .any, _ events: [NewEvent]) throws -> [RecordedEvent] {
        try append([AppendRequest(stream: stream, expectedVersion: expected, events: events)])[0].get()
    }

    /// Every durable event, in position order.
    func readAll() throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        while true {
            let page = try read(after: events.last?.position ?? 0, limit: EventStore.maxReadLimit)
            if page.isEmpty { return events }
            events += page
        }
    }
}

extension Result {
    /// The failure, if any.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

/// Runs `StoreVerifier` on `directory` and records an issue for each problem it finds.
@discardableResult
func expectSound(_ directory: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> StoreVerifier.Report {
    let report = try StoreVerifier.verify(directory: directory)
    #expect(report.problems == [], sourceLocation: sourceLocation)
    return report
}

/// Polls `condition` until it holds or `timeout` passes.
@discardableResult
func waitUntil(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try condition() { return true }
        if clock.now >= deadline { return false }
        Thread.sleep(forTimeInterval: 0.002)
    }
}

// MARK: - Files of a closed store

/// The whole valid groups of the log in `directory`, with where each starts.
func logGroups(in directory: String) throws -> [LogGroup] {
    var groups: [LogGroup] = []
    let loaded = try LogLoader(directory: directory, fileSystem: POSIXFileSystem(), readOnly: true).load(from: nil) { groups.append($0) }
    loaded.segments.forEach { $0.file.close() }
    return groups
}

/// The path of the segment file that starts at `firstPosition`.
func segmentPath(_ directory: String, _ firstPosition: Int64) -> String {
    directory + "/" + LogSegment.name(firstPosition: firstPosition)
}

func readBytes(_ path: String, at offset: Int, count: Int) throws -> [UInt8] {
    let handle = try #require(FileHandle(forReadingAtPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    return Array(try handle.read(upToCount: count) ?? Data())
}

func writeBytes(_ path: String, _ bytes: [UInt8], at offset: Int) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data(bytes))
}

/// Inverts the bits of the byte at `offset` (what bit rot does to a page).
func flipByte(_ path: String, at offset: Int) throws {
    let byte = try readBytes(path, at: offset, count: 1)[0]
    try writeBytes(path, [~byte], at: offset)
}

func fileContents(_ path: String) -> Data? {
    FileManager.default.contents(atPath: path)
}

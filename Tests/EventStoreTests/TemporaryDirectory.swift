import EventStore
import Foundation

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
func withStore<T>(_ body: (EventStore, String) throws -> T) throws -> T {
    try withTemporaryDirectory { directory in
        let dataDirectory = directory.appending("data")
        let store = try EventStore(directory: dataDirectory)
        defer { try? store.close() }
        return try body(store, dataDirectory)
    }
}

/// An event with a small JSON payload.
func event(_ type: String = "Happened", id: UUID = UUID(), data: String = #"{"n":1}"#, metadata: String? = nil) -> NewEvent {
    NewEvent(id: id, type: type, data: Array(data.utf8), metadata: metadata.map { Array($0.utf8) })
}

extension Result {
    /// The failure, if any.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

import Foundation

/// Runs `body` with a fresh, empty directory, and removes it afterwards whatever happens.
///
/// - Parameters:
///   - label: a readable prefix for the directory's name.
///   - body: gets the directory's absolute path.
/// - Throws: what `body` throws, or a file-system error creating the directory.
public func withTemporaryDirectory<T>(
    _ label: String = "prism-test",
    _ body: (String) throws -> T
) throws -> T {
    let path = try makeTemporaryDirectory(label)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// As `withTemporaryDirectory`, for async bodies (e.g. tests that start processes).
public func withTemporaryDirectory<T>(
    _ label: String = "prism-test",
    _ body: (String) async throws -> T
) async throws -> T {
    let path = try makeTemporaryDirectory(label)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

private func makeTemporaryDirectory(_ label: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        .path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

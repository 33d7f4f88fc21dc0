import WireProtocol

/// What every fuzz target shares: the input as an array, and the invariant check that turns a
/// violated property into a crash libFuzzer saves.

/// The bytes libFuzzer hands `LLVMFuzzerTestOneInput`.
public func fuzzInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
    guard let start, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: start, count: count))
}

/// Stops the run, with `message`, when an invariant does not hold: libFuzzer keeps the input
/// as a crash file.
public func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    if !condition { fatalError("invariant violated: \(message())", file: file, line: line) }
}

/// The input split at each zero byte, for targets that take several frames: JSON holds no raw
/// zero byte, so a frame of JSON never contains the separator.
public func frames(_ bytes: ArraySlice<UInt8>, maxSplits: Int = .max) -> [[UInt8]] {
    bytes.split(separator: 0, maxSplits: maxSplits, omittingEmptySubsequences: false).map(Array.init)
}

/// Checks that a request parser refused its input as a client's mistake, never as the server's.
public func requireClientError(_ error: WireError) {
    require([.malformed, .invalidArgument, .tooLarge].contains(error.code), "refused with \(error.code): \(error.message)")
}

extension RecordedEvent {
    /// Whether the stream and type decoded without replacement characters (from bytes that were
    /// UTF-8): only then do they encode back to the bytes they came from.
    public var hasUTF8Text: Bool {
        !stream.unicodeScalars.contains("\u{FFFD}") && !type.unicodeScalars.contains("\u{FFFD}")
    }
}

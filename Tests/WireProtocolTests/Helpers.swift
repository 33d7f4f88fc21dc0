import TestSupport
import Foundation
import WireProtocol

/// The error `JSONParser` reports for `text`, or nil when it parses.
func parseError(_ text: String) -> JSONParser.Error? {
    parseError(Array(text.utf8))
}

/// The error `JSONParser` reports for `bytes`, or nil when they parse.
func parseError(_ bytes: [UInt8]) -> JSONParser.Error? {
    do {
        _ = try JSONParser.parse(bytes)
        return nil
    } catch {
        return error
    }
}


/// A seeded generator (SplitMix64), so a failing randomized test fails the same way again.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}


/// Where and why a parse failed; `JSONParser.Error` has no public initializer to compare with.
struct ParseFailure: Equatable, Sendable, CustomStringConvertible {
    var offset: Int
    var reason: String
    var description: String { "byte \(offset): \(reason)" }
}

func parseFailure(_ text: String) -> ParseFailure? {
    parseFailure(Array(text.utf8))
}

func parseFailure(_ bytes: [UInt8]) -> ParseFailure? {
    parseError(bytes).map { ParseFailure(offset: $0.offset, reason: $0.reason) }
}

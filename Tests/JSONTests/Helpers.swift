import Foundation
import TestSupport
import JSON

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

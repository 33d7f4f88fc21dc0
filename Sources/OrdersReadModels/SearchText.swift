import Foundation

/// Turns a client's search text into a safe FTS5 MATCH expression.
///
/// Client text is never FTS5 syntax: `"foo`, `AND OR (`, `col:x` or `a*` would otherwise be
/// SQL errors or unintended operators. Splitting into runs of letters and digits (what the
/// `unicode61` tokenizer keeps) and quoting each run leaves only plain words.
enum SearchText {
    /// Most words used from one text; 200 bytes cannot hold many more anyway.
    static let maxWords = 32

    /// The runs of letters and digits in `text`, in order, at most `maxWords`.
    static func words(in text: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let properties = scalar.properties
            if properties.isAlphabetic || properties.numericType != nil {
                current.append(scalar)
            } else if !current.isEmpty {
                words.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { words.append(String(current)) }
        return Array(words.prefix(maxWords))
    }

    /// Each word as an FTS5 string (`"red"`), space-separated: an implicit AND of the words.
    static func matchExpression(_ words: [String]) -> String {
        // A word holds no `"` (it is letters and digits only), but double any anyway so the
        // quoting stays correct if `words(in:)` ever changes.
        words.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " ")
    }
}

import Foundation

/// Turns a client's search text into a safe FTS5 MATCH expression, and text into the folded
/// words the PostgreSQL search model indexes and looks up.
///
/// Client text is never FTS5 syntax: `"foo`, `AND OR (`, `col:x` or `a*` would otherwise be
/// SQL errors or unintended operators. Splitting into runs of letters and digits (what the
/// `unicode61` tokenizer keeps) and quoting each run leaves only plain words.
enum SearchText {
    /// Most words used from one text; 200 bytes cannot hold many more anyway.
    static let maxWords = 32

    /// The runs of letters and digits in `text`, in order, at most `maxWords`.
    static func words(in text: String) -> [String] {
        Array(allWords(in: text).prefix(maxWords))
    }

    /// Every run of letters and digits in `text`, in order: the words of a description.
    static func allWords(in text: String) -> [String] {
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
        return words
    }

    /// Each word as an FTS5 string (`"red"`), space-separated: an implicit AND of the words.
    static func matchExpression(_ words: [String]) -> String {
        // A word holds no `"` (it is letters and digits only), but double any anyway so the
        // quoting stays correct if `words(in:)` ever changes.
        words.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " ")
    }

    /// `words` folded as FTS5's `unicode61 remove_diacritics 2` folds tokens, space-separated:
    /// lowercase, then decomposed (NFD) with the combining marks dropped, so `Café` and `CAFE`
    /// both give `cafe` and `straße` stays `straße` (no decomposition, as in FTS5).
    ///
    /// The PostgreSQL search model indexes a description's folded words and looks up a query's,
    /// so both sides fold in this one function and the server's locale or extensions cannot
    /// make them disagree.
    static func folded(_ words: [String]) -> String {
        var text = ""
        for word in words {
            if !text.isEmpty { text += " " }
            if word.utf8.allSatisfy({ $0 < 0x80 }) {
                text += word.lowercased()  // the common case, without Foundation
            } else {
                var scalars = String.UnicodeScalarView()
                for scalar in word.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars
                where scalar.properties.generalCategory != .nonspacingMark {
                    scalars.append(scalar)
                }
                text += String(scalars)
            }
        }
        return text
    }
}

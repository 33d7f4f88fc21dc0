/// Stream naming rules: `category-id`, as in message-db.
public enum StreamName {
    /// Longest stream name accepted, in UTF-8 bytes.
    public static let maxLength = 200

    /// The part before the first `-`, or the whole name when it has none.
    public static func category(of stream: String) -> String {
        if let dash = stream.firstIndex(of: "-") {
            return String(stream[..<dash])
        }
        return stream
    }

    /// Why `stream` is not a valid stream name, or nil when it is.
    ///
    /// A name is 1…200 UTF-8 bytes of printable ASCII other than space, does not start with `-`,
    /// and has no `:` in its category.
    public static func problem(with stream: String) -> String? {
        let bytes = stream.utf8
        if bytes.isEmpty { return "stream name is empty" }
        if bytes.count > maxLength { return "stream name is \(bytes.count) bytes, more than \(maxLength)" }
        if bytes.first == UInt8(ascii: "-") { return "stream name '\(stream)' starts with '-'" }
        for byte in bytes where byte <= 0x20 || byte >= 0x7F {
            return "stream name contains a character outside printable ASCII (byte \(byte))"
        }
        // The category is a PUB topic segment (`e:<category>:<type>`): a ':' in it would let the
        // subscription `e:order:` match the category `order:eu` too.
        if category(of: stream).utf8.contains(UInt8(ascii: ":")) {
            return "stream name '\(stream)' has a ':' in its category (the part before the first '-')"
        }
        return nil
    }
}

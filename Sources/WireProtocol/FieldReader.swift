/// Reads and validates the fields of a JSON object: a command's `data`, a query's `params`.
///
/// Every failure is a `WireError(.invalidArgument, …)` whose message names the field's path
/// (`data.amountCents`) and states what was wrong. Fields nobody asks for are ignored, so a
/// client may send extra fields (a newer client, or its own annotations) without error.
public struct FieldReader: Sendable {
    /// Longest id, in UTF-8 bytes.
    public static let maxIdLength = 64

    public let path: String
    public let fields: [String: JSONValue]

    /// - Parameters:
    ///   - value: the value that must be an object.
    ///   - path: how messages name it, `data` for a command's data.
    /// - Throws: `.invalidArgument` "data must be an object, got an array" when it is not an object.
    public init(_ value: JSONValue, path: String = "data") throws(WireError) {
        guard case .object(let fields) = value else {
            throw WireError(.invalidArgument, "\(path) must be an object, got \(value.typeName)")
        }
        self.path = path
        self.fields = fields
    }

    private func invalid(_ key: String, _ problem: String) -> WireError {
        WireError(.invalidArgument, "\(path).\(key) \(problem)")
    }

    /// The field's string value, or nil when it is absent.
    ///
    /// - Throws: `.invalidArgument` when it is present but not a string (`null` included).
    public func optionalString(_ key: String) throws(WireError) -> String? {
        guard let value = fields[key] else { return nil }
        guard case .string(let text) = value else { throw invalid(key, "must be a string, got \(value.typeName)") }
        return text
    }

    /// The field's boolean value, or nil when it is absent.
    ///
    /// - Throws: `.invalidArgument` when it is present but not a boolean.
    public func optionalBool(_ key: String) throws(WireError) -> Bool? {
        guard let value = fields[key] else { return nil }
        guard case .bool(let flag) = value else { throw invalid(key, "must be a boolean, got \(value.typeName)") }
        return flag
    }

    /// The field's string value.
    ///
    /// - Throws: `.invalidArgument` when it is missing or not a string.
    public func string(_ key: String) throws(WireError) -> String {
        guard let text = try optionalString(key) else { throw invalid(key, "is missing") }
        return text
    }

    /// An identifier: 1…64 UTF-8 bytes of `A-Z a-z 0-9 . _ : -`.
    ///
    /// The character set keeps ids safe inside stream names (`order-<id>`), topics and logs.
    /// - Throws: `.invalidArgument` when it is missing, not a string, empty, too long, or holds another character.
    public func id(_ key: String) throws(WireError) -> String {
        let text = try string(key)
        let bytes = text.utf8
        if bytes.isEmpty { throw invalid(key, "is empty") }
        if bytes.count > Self.maxIdLength {
            throw invalid(key, "is \(bytes.count) bytes, more than the \(Self.maxIdLength) allowed")
        }
        for byte in bytes where !Self.isIdByte(byte) {
            // Report the whole character, not the byte, so that 'é' reads as 'é'.
            let scalar = text.unicodeScalars.first { !$0.isASCII || !Self.isIdByte(UInt8($0.value)) }!
            throw invalid(key, "contains \(Self.describe(scalar)), which is not allowed in an id (allowed: A-Z a-z 0-9 . _ : -)")
        }
        return text
    }

    /// A free-text field: a string of at most `maxBytes` UTF-8 bytes.
    ///
    /// - Parameters:
    ///   - allowEmpty: when false, an empty or all-white-space string is rejected.
    /// - Throws: `.invalidArgument` when it is missing, not a string, too long, or (unless allowed) empty.
    public func text(_ key: String, maxBytes: Int, allowEmpty: Bool = false) throws(WireError) -> String {
        try checkText(key, try string(key), maxBytes: maxBytes, allowEmpty: allowEmpty)
    }

    /// Like `text(_:maxBytes:allowEmpty:)`, but an absent field gives `defaultValue`.
    public func optionalText(
        _ key: String, maxBytes: Int, allowEmpty: Bool = false, default defaultValue: String
    ) throws(WireError) -> String {
        guard let value = try optionalString(key) else { return defaultValue }
        return try checkText(key, value, maxBytes: maxBytes, allowEmpty: allowEmpty)
    }

    private func checkText(_ key: String, _ text: String, maxBytes: Int, allowEmpty: Bool) throws(WireError) -> String {
        let count = text.utf8.count
        if count > maxBytes { throw invalid(key, "is \(count) bytes, more than the \(maxBytes) allowed") }
        if !allowEmpty {
            if count == 0 { throw invalid(key, "is empty") }
            if text.unicodeScalars.allSatisfy(\.properties.isWhitespace) { throw invalid(key, "is only white space") }
        }
        return text
    }

    /// An integer field within `range`.
    ///
    /// - Throws: `.invalidArgument` when it is missing, not an integer (`12.5` and `"12"` included), or out of range.
    public func int(_ key: String, in range: ClosedRange<Int64>) throws(WireError) -> Int64 {
        guard let value = fields[key] else { throw invalid(key, "is missing") }
        let number: Int64
        switch value {
        case .int(let integer): number = integer
        case .double(let double): throw invalid(key, "must be an integer, got a number (\(double))")
        default: throw invalid(key, "must be an integer, got \(value.typeName)")
        }
        if number < range.lowerBound {
            // "greater than 0" reads better than "at least 1" for amounts.
            throw invalid(key, "must be greater than \(range.lowerBound - 1), got \(number)")
        }
        if number > range.upperBound { throw invalid(key, "must be at most \(range.upperBound), got \(number)") }
        return number
    }

    /// Like `int(_:in:)`, but an absent field gives `defaultValue`.
    public func int(_ key: String, in range: ClosedRange<Int64>, default defaultValue: Int64) throws(WireError) -> Int64 {
        guard fields[key] != nil else { return defaultValue }
        return try int(key, in: range)
    }

    static func isIdByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// `' ' (U+0020)`, `'é' (U+00E9)`, or just `U+000A` for characters that do not print.
    static func describe(_ scalar: Unicode.Scalar) -> String {
        var hex = String(scalar.value, radix: 16, uppercase: true)
        if hex.count < 4 { hex = String(repeating: "0", count: 4 - hex.count) + hex }
        let code = "U+" + hex
        let printable = scalar.value >= 0x20 && scalar.value != 0x7F && !(0x80..<0xA0).contains(scalar.value)
        return printable ? "'\(Character(scalar))' (\(code))" : code
    }
}

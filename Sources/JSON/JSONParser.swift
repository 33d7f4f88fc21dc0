/// A strict RFC 8259 JSON parser over UTF-8 bytes.
///
/// Hand-written rather than `JSONSerialization` so that integers stay integers, booleans stay
/// booleans, and a malformed frame gets an error that names the byte where it went wrong.
public struct JSONParser {
    /// Deepest nesting accepted; deeper documents are rejected rather than risking the stack.
    public static let maxDepth = 64

    public struct Error: Swift.Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Parses one JSON document that must span all of `bytes` (surrounding white space allowed).
    ///
    /// - Throws: `JSONParser.Error` with the byte offset of the first problem.
    public static func parse(_ bytes: [UInt8]) throws(Error) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(Error) in
            var parser = Cursor(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            if parser.index != buffer.count {
                throw Error(offset: parser.index, reason: "unexpected data after the document")
            }
            return value
        }
    }

    public static func parse(_ text: String) throws(Error) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// A member of a shallowly parsed object: scalars parsed, containers left as byte ranges.
    public enum ShallowMember: Sendable, Equatable {
        case scalar(JSONValue)
        /// The bytes of an object or array value: brackets balanced and strings terminated, not parsed.
        case raw(Range<Int>)
    }

    /// Parses a top-level object one level deep: scalar members are parsed, object and array
    /// members are only checked for balanced brackets and terminated strings and returned as
    /// byte ranges of `bytes`.
    ///
    /// For readers that pass a nested document on unchanged (an event body's `data`): it saves
    /// building a tree only to write it back to bytes. Raw members are not fully validated
    /// (UTF-8, escapes, scalars); whoever parses those bytes later does that.
    /// - Throws: `JSONParser.Error` with the byte offset of the first problem.
    public static func parseShallowObject(_ bytes: [UInt8]) throws(Error) -> [String: ShallowMember] {
        try bytes.withUnsafeBufferPointer { buffer throws(Error) in
            var parser = Cursor(bytes: buffer)
            parser.skipWhitespace()
            guard parser.index < buffer.count, buffer[parser.index] == UInt8(ascii: "{") else {
                throw Error(offset: parser.index, reason: "expected an object")
            }
            let members = try parser.shallowObject()
            parser.skipWhitespace()
            if parser.index != buffer.count {
                throw Error(offset: parser.index, reason: "unexpected data after the document")
            }
            return members
        }
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        func fail(_ reason: String, at offset: Int? = nil) -> Error {
            Error(offset: offset ?? index, reason: reason)
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(Error) -> JSONValue {
            guard index < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default:
                throw fail("unexpected character '\(printable(bytes[index]))'")
            }
        }

        func printable(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
        }

        mutating func literal(_ word: StaticString) throws(Error) {
            let start = index
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw fail("unexpected end of input") }
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
            for offset in 0..<count where bytes[index + offset] != expected[offset] {
                throw fail("invalid literal", at: start)
            }
            index += count
        }

        mutating func object(depth: Int) throws(Error) -> JSONValue {
            if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
            return .object(try members { cursor throws(Error) in try cursor.value(depth: depth) })
        }

        /// An object whose object and array members are left as byte ranges (`parseShallowObject`).
        mutating func shallowObject() throws(Error) -> [String: ShallowMember] {
            try members { cursor throws(Error) in
                guard cursor.index < cursor.bytes.count else { throw cursor.fail("unexpected end of input in object") }
                let first = cursor.bytes[cursor.index]
                guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else {
                    return .scalar(try cursor.value(depth: 1))
                }
                let start = cursor.index
                try cursor.skipContainer()
                return .raw(start..<cursor.index)
            }
        }

        /// The members of the object at `index` (its `{`), each value read by `readValue`.
        mutating func members<Member>(
            _ readValue: (inout Cursor) throws(Error) -> Member
        ) throws(Error) -> [String: Member] {
            index += 1
            var members: [String: Member] = [:]
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return members
            }
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw fail("unexpected end of input in object") }
                guard bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let keyOffset = index
                let key = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
                index += 1
                skipWhitespace()
                let member = try readValue(&self)
                if members.updateValue(member, forKey: key) != nil {
                    // Keys are Swift strings, which compare by canonical equivalence: "é" and
                    // "e\u{301}" are one key here, so both in one object are rejected as duplicates
                    // rather than one silently replacing the other.
                    throw fail("duplicate key \"\(key)\"", at: keyOffset)
                }
                skipWhitespace()
                guard index < bytes.count else { throw fail("unexpected end of input in object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return members
                } else {
                    throw fail("expected ',' or '}' in object")
                }
            }
        }

        /// Moves past one object or array, checking brackets, strings and the depth limit.
        mutating func skipContainer() throws(Error) {
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    index += 1
                    if depth == 0 { return }
                case UInt8(ascii: "\""):
                    index += 1
                    while true {
                        guard index < bytes.count else { throw fail("unterminated string") }
                        let inner = bytes[index]
                        if inner == UInt8(ascii: "\"") { index += 1; break }
                        if inner < 0x20 { throw fail("control character in string") }
                        index += inner == UInt8(ascii: "\\") ? 2 : 1
                    }
                default:
                    index += 1
                }
            }
            throw fail("unexpected end of input in a nested value")
        }

        mutating func array(depth: Int) throws(Error) -> JSONValue {
            if depth > JSONParser.maxDepth { throw fail("nesting deeper than \(JSONParser.maxDepth)") }
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                skipWhitespace()
                elements.append(try value(depth: depth))
                skipWhitespace()
                guard index < bytes.count else { throw fail("unexpected end of input in array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                } else {
                    throw fail("expected ',' or ']' in array")
                }
            }
        }

        mutating func string() throws(Error) -> String {
            index += 1  // opening quote
            let start = index
            var isASCII = true
            // Fast path: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    // ASCII is valid UTF-8 as it stands: `String(validating:)` costs a generic
                    // metadata lookup per call, which was a quarter of a projector's catch-up.
                    let text: String
                    if isASCII {
                        text = String(decoding: slice, as: UTF8.self)
                    } else if let validated = String(validating: slice, as: UTF8.self) {
                        text = validated
                    } else {
                        throw fail("string is not valid UTF-8", at: start)
                    }
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw fail("control character in string") }
                if byte >= 0x80 { isASCII = false }
                index += 1
            }
            var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let text = String(validating: scratch, as: UTF8.self) else {
                        throw fail("string is not valid UTF-8", at: start)
                    }
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw fail("unexpected end of input in string") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scratch.append(0x22)
                    case UInt8(ascii: "\\"): scratch.append(0x5C)
                    case UInt8(ascii: "/"): scratch.append(0x2F)
                    case UInt8(ascii: "b"): scratch.append(0x08)
                    case UInt8(ascii: "f"): scratch.append(0x0C)
                    case UInt8(ascii: "n"): scratch.append(0x0A)
                    case UInt8(ascii: "r"): scratch.append(0x0D)
                    case UInt8(ascii: "t"): scratch.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                                bytes[index + 1] == UInt8(ascii: "u")
                            else { throw fail("unpaired high surrogate") }
                            index += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw fail("invalid low surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw fail("unpaired low surrogate")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid unicode escape") }
                        scratch.append(contentsOf: Array(String(Character(unicode)).utf8))
                    default:
                        throw fail("invalid escape '\\\(printable(escape))'", at: index - 2)
                    }
                default:
                    if byte < 0x20 { throw fail("control character in string") }
                    scratch.append(byte)
                    index += 1
                }
            }
            throw fail("unterminated string", at: start - 1)
        }

        mutating func hex4() throws(Error) -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("unexpected end of input in \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw fail("invalid hex digit in \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        mutating func number() throws(Error) -> JSONValue {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid number", at: start) }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) { throw fail("leading zero in number", at: start) }
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid fraction", at: start) }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw fail("invalid exponent", at: start) }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger {
                if let value = Int64(text) { return .int(value) }
                throw fail("integer \(text) does not fit in 64 bits", at: start)
            }
            guard let value = Double(text), value.isFinite else { throw fail("number \(text) is out of range", at: start) }
            return .double(value)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    }
}

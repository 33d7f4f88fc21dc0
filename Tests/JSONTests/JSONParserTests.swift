import TestSupport
import Testing
import JSON

@Suite struct JSONParserTests {
    // MARK: - Valid documents

    static let validDocuments: [(String, JSONValue)] = [
        ("null", .null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("\"\"", .string("")),
        ("\"héllo\"", .string("héllo")),
        ("[]", .array([])),
        ("{}", .object([:])),
        ("[1,\"a\",null,true,{\"k\":[]}]", [1, "a", nil, true, ["k": []]]),
        ("{\"a\":{\"b\":{\"c\":[false]}}}", ["a": ["b": ["c": [false]]]]),
        (" \t\r\n{ \"a\" : 1 , \"b\" : [ 2 , 3 ] } \n", ["a": 1, "b": [2, 3]]),
    ]

    @Test(arguments: validDocuments)
    func aValidDocumentParses(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test func bytesAndStringGiveTheSameValue() throws {
        let text = "{\"id\":\"é😀\",\"n\":[1,2.5]}"
        #expect(try JSONParser.parse(Array(text.utf8)) == JSONParser.parse(text))
    }

    // MARK: - Numbers

    static let numbers: [(String, JSONValue)] = [
        ("0", .int(0)),
        ("1", .int(1)),
        ("-1", .int(-1)),
        ("-0", .int(0)),
        ("4999", .int(4999)),
        ("9223372036854775807", .int(.max)),
        ("-9223372036854775808", .int(.min)),
        ("1.0", .double(1.0)),
        ("0.5", .double(0.5)),
        ("-0.0", .double(-0.0)),
        ("1e2", .double(100)),
        ("1E2", .double(100)),
        ("1e+2", .double(100)),
        ("-1.5e-3", .double(-0.0015)),
        ("12.5", .double(12.5)),
        ("1e-400", .double(0)),
        ("1.7976931348623157e308", .double(.greatestFiniteMagnitude)),
        ("9223372036854775808.0", .double(9_223_372_036_854_775_808.0)),
    ]

    @Test(arguments: numbers)
    func integersStayIntegersAndTheRestAreDoubles(text: String, expected: JSONValue) throws {
        let value = try JSONParser.parse(text)
        #expect(value == expected)
        // `==` on .double(0) and .double(-0.0) agrees, so check the case too.
        switch (value, expected) {
        case (.int, .int), (.double, .double): break
        default: Issue.record("\(text) parsed as \(value), expected \(expected)")
        }
    }

    @Test(arguments: [
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "100000000000000000000000000000",
    ])
    func anIntegerBeyondInt64IsAnError(text: String) {
        #expect(parseFailure(text) == ParseFailure(offset: 0, reason: "integer \(text) does not fit in 64 bits"))
    }

    @Test func anOverflowingIntegerInsideAnArrayIsReportedAtItsStart() {
        #expect(parseFailure("[1, 9223372036854775808]")?.offset == 4)
    }

    @Test(arguments: ["1e400", "-1e400", "1.8e308"])
    func aDoubleBeyondTheFiniteRangeIsAnError(text: String) {
        #expect(parseFailure(text) == ParseFailure(offset: 0, reason: "number \(text) is out of range"))
    }

    // MARK: - Strings and escapes

    static let strings: [(String, String)] = [
        (#""\u00e9""#, "é"),
        (#""\u00E9""#, "é"),
        (#""caf\u00e9 au lait""#, "café au lait"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\uD83D\uDE00!""#, "😀!"),
        (#""a\u0000b""#, "a\u{0}b"),
        (#""\u001f""#, "\u{1F}"),
        (#""\uffff""#, "\u{FFFF}"),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""tab\tin the middle""#, "tab\tin the middle"),
        ("\"raw é😀 UTF-8\"", "raw é😀 UTF-8"),
        ("\"\u{7F}\"", "\u{7F}"),
    ]

    @Test(arguments: strings)
    func escapesAreDecoded(text: String, expected: String) throws {
        #expect(try JSONParser.parse(text) == .string(expected))
    }

    @Test func anEscapedKeyIsDecoded() throws {
        #expect(try JSONParser.parse(#"{"\u0061\n":1}"#) == ["a\n": 1])
    }

    static let badEscapes: [(String, ParseFailure)] = [
        (#""\ud83d""#, ParseFailure(offset: 7, reason: "unpaired high surrogate")),
        (#""\ud83dx""#, ParseFailure(offset: 7, reason: "unpaired high surrogate")),
        (#""\ud83d\n""#, ParseFailure(offset: 7, reason: "unpaired high surrogate")),
        (#""\ude00""#, ParseFailure(offset: 7, reason: "unpaired low surrogate")),
        (#""\ude00\ud83d""#, ParseFailure(offset: 7, reason: "unpaired low surrogate")),
        (#""\ud83d\u0041""#, ParseFailure(offset: 13, reason: "invalid low surrogate")),
        (#""\ud83d\ud83d""#, ParseFailure(offset: 13, reason: "invalid low surrogate")),
        (#""\u12g4""#, ParseFailure(offset: 5, reason: "invalid hex digit in \\u escape")),
        (#""\u12"#, ParseFailure(offset: 3, reason: "unexpected end of input in \\u escape")),
        (#""\x""#, ParseFailure(offset: 1, reason: "invalid escape '\\x'")),
        (#""\'""#, ParseFailure(offset: 1, reason: "invalid escape '\\''")),
        (#""\"#, ParseFailure(offset: 2, reason: "unexpected end of input in string")),
    ]

    @Test(arguments: badEscapes)
    func aBadEscapeIsAnErrorAtItsByte(text: String, expected: ParseFailure) {
        #expect(parseFailure(text) == expected)
    }

    @Test(arguments: Array(UInt8(0)..<0x20))
    func aRawControlCharacterInAStringIsAnError(byte: UInt8) {
        // [ " a <byte> " ]: the control character is byte 3, on both the fast and the escape path.
        #expect(parseFailure([0x5B, 0x22, 0x61, byte, 0x22, 0x5D]) == ParseFailure(offset: 3, reason: "control character in string"))
        #expect(parseFailure([0x22, 0x5C, 0x6E, byte, 0x22])?.offset == 3)
    }

    static let invalidUTF8: [[UInt8]] = [
        [0xFF],
        [0xC3],  // truncated two-byte sequence
        [0xC0, 0xAF],  // overlong '/'
        [0xE2, 0x82],  // truncated three-byte sequence
        [0xED, 0xA0, 0x80],  // UTF-8-encoded surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0x80],  // lone continuation byte
    ]

    @Test(arguments: invalidUTF8)
    func invalidUTF8InAStringIsAnError(sequence: [UInt8]) {
        // The error names the first byte of the string's content.
        let plain = [0x22, 0x61] + sequence + [0x22]
        #expect(parseFailure(plain) == ParseFailure(offset: 1, reason: "string is not valid UTF-8"))
        let escaped = [0x22, 0x5C, 0x6E] + sequence + [0x22]
        #expect(parseFailure(escaped) == ParseFailure(offset: 1, reason: "string is not valid UTF-8"))
        let key = [0x7B, 0x22] + sequence + [0x22, 0x3A, 0x31, 0x7D]
        #expect(parseFailure(key) == ParseFailure(offset: 2, reason: "string is not valid UTF-8"))
    }

    @Test func invalidUTF8OutsideAStringIsAnUnexpectedCharacter() {
        #expect(parseFailure([0xFF]) == ParseFailure(offset: 0, reason: "unexpected character '\\xff'"))
        #expect(parseFailure([0xEF, 0xBB, 0xBF, 0x31]) == ParseFailure(offset: 0, reason: "unexpected character '\\xef'"))
        #expect(parseFailure([0x5B, 0x31, 0x2C, 0xC3, 0xA9, 0x5D])?.offset == 3)
    }

    @Test func anUnterminatedStringIsReportedAtItsOpeningQuote() {
        #expect(parseFailure(#"["abc"#) == ParseFailure(offset: 1, reason: "unterminated string"))
        #expect(parseFailure(#"["a\nbc"#) == ParseFailure(offset: 1, reason: "unterminated string"))
    }

    // MARK: - Malformed documents and their offsets

    static let malformed: [(String, ParseFailure)] = [
        ("", ParseFailure(offset: 0, reason: "unexpected end of input")),
        ("   ", ParseFailure(offset: 3, reason: "unexpected end of input")),
        (" \n\t\r", ParseFailure(offset: 4, reason: "unexpected end of input")),
        ("01", ParseFailure(offset: 0, reason: "leading zero in number")),
        ("[1, -012]", ParseFailure(offset: 4, reason: "leading zero in number")),
        ("00", ParseFailure(offset: 0, reason: "leading zero in number")),
        ("-", ParseFailure(offset: 0, reason: "invalid number")),
        ("[-]", ParseFailure(offset: 1, reason: "invalid number")),
        ("-a", ParseFailure(offset: 0, reason: "invalid number")),
        ("+1", ParseFailure(offset: 0, reason: "unexpected character '+'")),
        (".5", ParseFailure(offset: 0, reason: "unexpected character '.'")),
        ("1.", ParseFailure(offset: 0, reason: "invalid fraction")),
        ("1.e3", ParseFailure(offset: 0, reason: "invalid fraction")),
        ("1e", ParseFailure(offset: 0, reason: "invalid exponent")),
        ("1e+", ParseFailure(offset: 0, reason: "invalid exponent")),
        ("[1,]", ParseFailure(offset: 3, reason: "unexpected character ']'")),
        ("[1,,2]", ParseFailure(offset: 3, reason: "unexpected character ','")),
        ("[,]", ParseFailure(offset: 1, reason: "unexpected character ','")),
        (#"{"a":1,}"#, ParseFailure(offset: 7, reason: "expected a string key")),
        (#"{,}"#, ParseFailure(offset: 1, reason: "expected a string key")),
        ("{'a':1}", ParseFailure(offset: 1, reason: "expected a string key")),
        ("'a'", ParseFailure(offset: 0, reason: "unexpected character '''")),
        ("{a:1}", ParseFailure(offset: 1, reason: "expected a string key")),
        ("NaN", ParseFailure(offset: 0, reason: "unexpected character 'N'")),
        ("Infinity", ParseFailure(offset: 0, reason: "unexpected character 'I'")),
        ("-Infinity", ParseFailure(offset: 0, reason: "invalid number")),
        ("[1, NaN]", ParseFailure(offset: 4, reason: "unexpected character 'N'")),
        ("// comment\n1", ParseFailure(offset: 0, reason: "unexpected character '/'")),
        ("/* c */ 1", ParseFailure(offset: 0, reason: "unexpected character '/'")),
        ("[1] // comment", ParseFailure(offset: 4, reason: "unexpected data after the document")),
        ("[1 /* c */]", ParseFailure(offset: 3, reason: "expected ',' or ']' in array")),
        ("1 2", ParseFailure(offset: 2, reason: "unexpected data after the document")),
        ("{}x", ParseFailure(offset: 2, reason: "unexpected data after the document")),
        ("truex", ParseFailure(offset: 4, reason: "unexpected data after the document")),
        ("[1 2]", ParseFailure(offset: 3, reason: "expected ',' or ']' in array")),
        (#"{"a" 1}"#, ParseFailure(offset: 5, reason: "expected ':' after key")),
        (#"{"a":1 "b":2}"#, ParseFailure(offset: 7, reason: "expected ',' or '}' in object")),
        (#"{"a":1"#, ParseFailure(offset: 6, reason: "unexpected end of input in object")),
        ("[1", ParseFailure(offset: 2, reason: "unexpected end of input in array")),
        ("[", ParseFailure(offset: 1, reason: "unexpected end of input")),
        ("{", ParseFailure(offset: 1, reason: "unexpected end of input in object")),
        (#"{"a":"#, ParseFailure(offset: 5, reason: "unexpected end of input")),
        ("tru", ParseFailure(offset: 0, reason: "unexpected end of input")),
        ("trUe", ParseFailure(offset: 0, reason: "invalid literal")),
        ("[nul]", ParseFailure(offset: 1, reason: "invalid literal")),
        ("True", ParseFailure(offset: 0, reason: "unexpected character 'T'")),
        ("undefined", ParseFailure(offset: 0, reason: "unexpected character 'u'")),
        ("\u{0C}1", ParseFailure(offset: 0, reason: "unexpected character '\\xc'")),
        ("\u{A0}1", ParseFailure(offset: 0, reason: "unexpected character '\\xc2'")),
    ]

    @Test(arguments: malformed)
    func aMalformedDocumentIsAnErrorAtTheRightByte(text: String, expected: ParseFailure) {
        #expect(parseFailure(text) == expected)
    }

    @Test func theErrorDescriptionNamesTheByte() {
        let error = parseError("[1,]")
        #expect(error?.description == "invalid JSON at byte 3: unexpected character ']'")
    }

    // MARK: - Duplicate keys

    @Test func aDuplicateKeyIsAnErrorAtTheSecondKey() {
        #expect(parseFailure(#"{"a":1,"a":2}"#) == ParseFailure(offset: 7, reason: "duplicate key \"a\""))
        #expect(parseFailure(#"{"a":1,"b":{"c":1,"c":1}}"#) == ParseFailure(offset: 18, reason: "duplicate key \"c\""))
        // An escape spells the same key.
        #expect(parseFailure(#"{"a":1,"\u0061":2}"#)?.reason == "duplicate key \"a\"")
    }

    @Test func theSameKeyInSiblingObjectsIsFine() throws {
        #expect(try JSONParser.parse(#"[{"a":1},{"a":2}]"#) == [["a": 1], ["a": 2]])
    }

    @Test func keysEqualUnderCanonicalEquivalenceAreRejectedAsDuplicates() {
        // RFC 8259 compares names by code units, but an object is a Swift dictionary, where
        // "\u00e9" and "e\u0301" are one key: rejecting beats silently keeping one of them.
        let failure = parseFailure(#"{"\u00e9":1,"e\u0301":2}"#)
        #expect(failure?.offset == 12)
        #expect(failure?.reason.hasPrefix("duplicate key") == true)
    }

    // MARK: - Depth and size

    static func nested(_ depth: Int, open: String = "[", close: String = "]") -> String {
        String(repeating: open, count: depth) + String(repeating: close, count: depth)
    }

    @Test func nestingOf64Parses() throws {
        var value = try JSONParser.parse(Self.nested(JSONParser.maxDepth))
        var depth = 0
        while case .array(let elements) = value {
            depth += 1
            value = elements.first ?? .null
        }
        #expect(depth == 64)
        let objects = String(repeating: #"{"k":"#, count: 63) + "{}" + String(repeating: "}", count: 63)
        #expect(parseFailure(objects) == nil)
        let mixed = String(repeating: #"{"k":["#, count: 32) + String(repeating: "]}", count: 32)
        #expect(parseFailure(mixed) == nil)
    }

    @Test func nestingOf65IsAnErrorAtTheSixtyFifthBracket() {
        #expect(parseFailure(Self.nested(65)) == ParseFailure(offset: 64, reason: "nesting deeper than 64"))
        let objects = String(repeating: #"{"k":"#, count: 64) + "{}" + String(repeating: "}", count: 64)
        #expect(parseFailure(objects) == ParseFailure(offset: 64 * 5, reason: "nesting deeper than 64"))
    }

    @Test func veryDeepNestingIsAnErrorNotACrash() {
        #expect(parseFailure(Self.nested(100_000))?.offset == 64)
        #expect(parseFailure(String(repeating: "[", count: 100_000))?.offset == 64)
    }

    @Test func aOneMegabyteArrayParses() throws {
        let count = 200_000
        var text = "["
        for number in 0..<count {
            if number > 0 { text += "," }
            text += String(number % 100_000)
        }
        text += "]"
        #expect(text.utf8.count > 1_000_000)
        let elements = try #require(try JSONParser.parse(text).arrayValue)
        #expect(elements.count == count)
        #expect(elements[123_456] == .int(23_456))
    }

    @Test func aOneMegabyteStringParses() throws {
        let content = String(repeating: "é😀a\\n", count: 100_000)
        let value = try JSONParser.parse("\"" + content + "\"")
        #expect(value.stringValue?.utf8.count == 100_000 * 8)
    }
}

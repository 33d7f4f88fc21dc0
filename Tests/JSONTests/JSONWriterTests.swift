import Testing
import JSON

@Suite struct JSONWriterTests {
    static let documents: [(JSONValue, String)] = [
        (.null, "null"),
        (.bool(true), "true"),
        (.bool(false), "false"),
        (.int(0), "0"),
        (.int(-42), "-42"),
        (.int(.max), "9223372036854775807"),
        (.int(.min), "-9223372036854775808"),
        (.double(1.0), "1.0"),
        (.double(0.5), "0.5"),
        (.double(-12.25), "-12.25"),
        (.string(""), "\"\""),
        (.array([]), "[]"),
        (.object([:]), "{}"),
        ([1, "a", nil, [true]], #"[1,"a",null,[true]]"#),
        (["b": 1, "a": 2, "c": ["z": nil, "y": true, "x": []]], #"{"a":2,"b":1,"c":{"x":[],"y":true,"z":null}}"#),
    ]

    @Test(arguments: documents)
    func writesCompactJSON(value: JSONValue, expected: String) {
        #expect(JSONWriter.write(value) == Array(expected.utf8))
        #expect(value.jsonString == expected)
        #expect(value.jsonBytes == Array(expected.utf8))
    }

    @Test func keysAreSortedAtEveryLevelWhateverTheInsertionOrder() {
        var members: [String: JSONValue] = [:]
        for key in ["zeta", "alpha", "Beta", "_", "a", "aa", "10", "9", "é"].shuffled() {
            members[key] = .object(["y": 1, "x": 2])
        }
        let text = JSONValue.object(members).jsonString
        let inner = #"{"x":2,"y":1}"#
        #expect(text == "{" + ["10", "9", "Beta", "_", "a", "aa", "alpha", "zeta", "é"]
            .map { "\"\($0)\":\(inner)" }.joined(separator: ",") + "}")
    }

    @Test func equalValuesGiveEqualBytes() throws {
        let first = try JSONParser.parse(#"{"b":[1,2],"a":{"d":null,"c":"x"}}"#)
        let second = try JSONParser.parse(#" { "a" : { "c" : "x" , "d" : null } , "b" : [ 1 , 2 ] } "#)
        #expect(first == second)
        #expect(first.jsonBytes == second.jsonBytes)
    }

    @Test func canonicallyEquivalentStringsAreEqualValuesWithDifferentBytes() {
        // Documented on JSONWriter: equality is Swift's canonical equivalence, bytes are exact.
        let composed = JSONValue.string("\u{E9}")
        let decomposed = JSONValue.string("e\u{301}")
        #expect(composed.jsonBytes != decomposed.jsonBytes)
        #expect(composed == decomposed)
    }

    static let strings: [(String, String)] = [
        ("plain", #""plain""#),
        ("quote \" here", #""quote \" here""#),
        ("back\\slash", #""back\\slash""#),
        ("line\nbreak", #""line\nbreak""#),
        ("tab\there", #""tab\there""#),
        ("cr\rhere", #""cr\rhere""#),
        ("\u{0}", #""\u0000""#),
        ("\u{8}\u{C}", #""\u0008\u000c""#),
        ("\u{1}\u{1F}", #""\u0001\u001f""#),
        ("slash /", #""slash /""#),
        ("del \u{7F}", "\"del \u{7F}\""),
        ("é😀", "\"é😀\""),
        ("\u{2028}", "\"\u{2028}\""),
    ]

    @Test(arguments: strings)
    func stringsAreEscaped(text: String, expected: String) throws {
        #expect(JSONValue.string(text).jsonString == expected)
        #expect(try JSONParser.parse(expected) == .string(text))
    }

    @Test func everyControlCharacterIsEscapedAndReparses() throws {
        let text = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) }))
        let bytes = JSONValue.string(text).jsonBytes
        #expect(!bytes.contains { $0 < 0x20 })
        #expect(try JSONParser.parse(bytes) == .string(text))
    }

    @Test func keysAreEscapedToo() throws {
        let value: JSONValue = ["a\"b\n": 1]
        #expect(value.jsonString == #"{"a\"b\n":1}"#)
        #expect(try JSONParser.parse(value.jsonBytes) == value)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity, .signalingNaN])
    func aNonFiniteDoubleIsWrittenAsNull(number: Double) {
        #expect(JSONValue.double(number).jsonString == "null")
        #expect(JSONValue.array([.double(number), 1]).jsonString == "[null,1]")
    }

    @Test(arguments: [
        0.0, -0.0, 1.0, 0.1, 0.1 + 0.2, 1e-7, 1e16, 1e300, -1e-300, 123_456.789,
        .greatestFiniteMagnitude, .leastNormalMagnitude, .leastNonzeroMagnitude, .pi, 9_007_199_254_740_993.0,
    ])
    func aFiniteDoubleReparsesToTheSameDouble(number: Double) throws {
        let parsed = try JSONParser.parse(JSONValue.double(number).jsonBytes)
        guard case .double(let back) = parsed else {
            Issue.record("\(number) wrote \(JSONValue.double(number).jsonString), which parsed as \(parsed)")
            return
        }
        #expect(back.bitPattern == number.bitPattern)
    }

    @Test func writeIntoAppends() {
        var out = Array("prefix:".utf8)
        JSONWriter.write(["k": [1, 2]], into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"prefix:{"k":[1,2]}"#)
        JSONWriter.writeString("x\"", into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"prefix:{"k":[1,2]}"x\"""#)
    }
}

@Suite struct JSONObjectWriterTests {
    @Test func membersInSortedOrderGiveJSONWritersBytes() {
        let value: JSONValue = ["a": 1, "b": "x\"y", "c": ["d": [true, .null]], "e": ["f": 2]]
        var object = JSONObjectWriter()
        object.int("a", 1)
        object.string("b", "x\"y")
        object.value("c", ["d": [true, .null]])
        object.raw("e", Array(#"{"f":2}"#.utf8))
        #expect(object.finish() == value.jsonBytes)
    }

    @Test func aNestedObjectAppendsInPlace() {
        var object = JSONObjectWriter()
        object.value("list") { out in
            out.append(UInt8(ascii: "["))
            for index in 0..<2 {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                var item = JSONObjectWriter(appendingTo: &out)
                item.int("i", Int64(index))
                out = item.finish()
            }
            out.append(UInt8(ascii: "]"))
        }
        object.int("n", 2)
        #expect(String(decoding: object.finish(), as: UTF8.self) == #"{"list":[{"i":0},{"i":1}],"n":2}"#)
    }
}

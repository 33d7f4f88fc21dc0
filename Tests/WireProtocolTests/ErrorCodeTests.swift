import Testing
import WireProtocol

@Suite struct ErrorCodeTests {
    @Test func theCodesAreTheDocumentedStrings() {
        #expect(ErrorCode.allCases.map(\.rawValue) == [
            "Malformed", "UnknownCommand", "UnknownQuery", "InvalidArgument", "Rejected",
            "WrongExpectedVersion", "Stale", "NotYetRelayed", "TooLarge", "Forbidden", "Unavailable", "Internal",
        ])
    }

    @Test(arguments: ErrorCode.allCases)
    func anErrorReplyRoundTrips(code: ErrorCode) throws {
        let error = WireError(code, "Wrong expected version: 4 (stream: order-17, stream version: 6)")
        #expect(error.reply.jsonString == #"{"error":{"code":"\#(code.rawValue)","message":"Wrong expected version: 4 (stream: order-17, stream version: 6)"},"ok":false}"#)
        #expect(WireError(reply: try JSONParser.parse(error.reply.jsonBytes)) == error)
        #expect(error.description == "\(code.rawValue): Wrong expected version: 4 (stream: order-17, stream version: 6)")
    }

    /// A domain's refusal reaches the client as the wire error of the same name.
    @Test(arguments: DecisionError.Code.allCases)
    func aDecisionErrorIsAnsweredWithTheCodeOfTheSameName(code: DecisionError.Code) {
        let error = WireError(DecisionError(code, "order o-1 is already shipped"))
        #expect(error.code.rawValue == code.rawValue)
        #expect(error.message == "order o-1 is already shipped")
    }
}

@Suite struct JSONValueTests {
    static let value: JSONValue = ["s": "x", "i": 1, "d": 1.5, "b": true, "n": nil, "a": [1], "o": ["k": "v"]]

    @Test func accessorsReturnTheirCaseOnly() {
        #expect(Self.value["s"]?.stringValue == "x")
        #expect(Self.value["i"]?.intValue == 1)
        #expect(Self.value["d"]?.intValue == nil)
        #expect(Self.value["b"]?.boolValue == true)
        #expect(Self.value["a"]?.arrayValue == [1])
        #expect(Self.value["o"]?["k"] == "v")
        #expect(Self.value["o"]?.objectValue == ["k": "v"])
        #expect(Self.value["missing"] == nil)
        #expect(Self.value["a"]?["k"] == nil)
        #expect(Self.value["s"]?.intValue == nil)
        #expect(Self.value["i"]?.stringValue == nil)
    }

    @Test func typeNamesReadInAnErrorMessage() {
        #expect(["s", "i", "d", "b", "n", "a", "o"].map { Self.value[$0]!.typeName } == [
            "a string", "an integer", "a number", "a boolean", "null", "an array", "an object",
        ])
    }

    @Test func literalsBuildTheMatchingCases() {
        #expect(Self.value["d"] == .double(1.5))
        #expect(Self.value["i"] == .int(1))
        #expect(Self.value["n"] == .null)
        #expect(JSONValue.int(1) != .double(1), "an integer is not the same value as a number")
    }
}

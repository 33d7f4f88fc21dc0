import FuzzSupport
import JSON

/// The JSON parser, full and shallow. Properties: what parses writes back to bytes that parse
/// to the same value, writing is a fixed point, and the shallow object parse agrees with the
/// full one on every document the full one accepts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    let value = try? JSONParser.parse(bytes)
    if let value {
        let written = JSONWriter.write(value)
        let reparsed = try? JSONParser.parse(written)
        require(reparsed == value, "written \(written.count) bytes do not parse back to the value")
        require(reparsed.map(JSONWriter.write) == written, "writing the reparsed value gives other bytes")
    }
    let shallow = try? JSONParser.parseShallowObject(bytes)
    if case .object(let members)? = value {
        guard let shallow else { fatalError("invariant violated: the shallow parse refuses an object the full parse accepts") }
        require(Set(shallow.keys) == Set(members.keys), "shallow and full parses disagree on the keys")
        for (key, member) in shallow {
            switch member {
            case .scalar(let scalar):
                require(scalar == members[key], "member '\(key)': shallow scalar differs")
            case .raw(let range):
                require((try? JSONParser.parse(Array(bytes[range]))) == members[key], "member '\(key)': raw bytes parse to another value")
            }
        }
    } else if value != nil {
        require(shallow == nil, "the shallow parse accepts a document that is not an object")
    }
    return 0
}

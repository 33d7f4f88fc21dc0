import FuzzSupport
import ProjectionRuntime
import WireProtocol

/// A projector's query request parser, with the default limits. Properties: it fails only with
/// a client's error code, what it accepts is within bounds, and an accepted request written back
/// as JSON parses to the same request.
let configuration = ProjectorConfiguration(name: "fuzz", queryEndpoint: "tcp://127.0.0.1:1", dataDirectory: "/nonexistent")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryRequest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = fuzzInput(start, count)
    let request: QueryRequest
    do {
        request = try QueryRequest.parse(bytes, configuration: configuration)
    } catch {
        requireClientError(error)
        return 0
    }
    require(!request.name.isEmpty && request.params.objectValue != nil, "accepted an empty name or non-object params")
    require(request.minPosition >= 0 && (0...configuration.maxQueryWaitMs).contains(request.timeoutMs), "accepted an out-of-range position or timeout")
    let written: JSONValue = [
        "query": .string(request.name), "params": request.params,
        "minPosition": .int(request.minPosition), "timeoutMs": .int(Int64(request.timeoutMs)),
    ]
    require((try? QueryRequest.parse(written.jsonBytes, configuration: configuration)) == request, "the request written back parses differently")
    return 0
}

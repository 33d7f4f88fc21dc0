import EventStore
import WireProtocol

extension AppendRequest {
    /// This request with `"principal": name` in each event's metadata, so the log says who wrote
    /// what. It overwrites whatever the client put there: only the handshake says who it is.
    ///
    /// - Throws: `InvalidArgument` for metadata that is not a JSON object (nowhere to record it).
    func recordingPrincipal(_ name: String) throws(WireError) -> AppendRequest {
        var stamped = self
        for index in stamped.events.indices {
            var members: [String: JSONValue] = [:]
            if let metadata = stamped.events[index].metadata {
                guard case .object(let existing)? = try? JSONParser.parse(metadata) else {
                    throw WireError(.invalidArgument, "events[\(index)].metadata must be a JSON object: the write node records the principal in it")
                }
                members = existing
            }
            members["principal"] = .string(name)
            stamped.events[index].metadata = JSONValue.object(members).jsonBytes
        }
        return stamped
    }
}

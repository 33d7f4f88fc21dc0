/// A command as it arrives on the wire: `{"command": name, "data": {...}}`.
public struct Command: Sendable, Equatable {
    public var name: String
    public var data: JSONValue

    public init(name: String, data: JSONValue) {
        self.name = name
        self.data = data
    }
}

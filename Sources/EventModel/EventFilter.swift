/// Which events a read of the global log returns.
public struct EventFilter: Sendable, Equatable {
    /// Categories to keep; empty keeps all.
    public var categories: [String]
    /// Event types to keep; empty keeps all.
    public var types: [String]

    public init(categories: [String] = [], types: [String] = []) {
        self.categories = categories
        self.types = types
    }

    public static let all = EventFilter()

    public var isAll: Bool { categories.isEmpty && types.isEmpty }

    public func matches(_ event: RecordedEvent) -> Bool {
        (categories.isEmpty || categories.contains(event.category))
            && (types.isEmpty || types.contains(event.type))
    }
}

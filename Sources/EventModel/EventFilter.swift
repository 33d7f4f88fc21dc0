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

    /// The same test on a record's stream and type bytes, without decoding it.
    public struct ByteMatcher: Sendable {
        private let categories: [[UInt8]]
        private let types: [[UInt8]]

        public init(_ filter: EventFilter) {
            categories = filter.categories.map { Array($0.utf8) }
            types = filter.types.map { Array($0.utf8) }
        }

        public var matchesAll: Bool { categories.isEmpty && types.isEmpty }

        public func matches(stream: UnsafeRawBufferPointer, type: UnsafeRawBufferPointer) -> Bool {
            if !categories.isEmpty {
                // The category is the stream name up to its first `-` (`StreamName.category`).
                let category = UnsafeRawBufferPointer(rebasing: stream[..<(stream.firstIndex(of: UInt8(ascii: "-")) ?? stream.endIndex)])
                guard categories.contains(where: { $0.elementsEqual(category) }) else { return false }
            }
            return types.isEmpty || types.contains(where: { $0.elementsEqual(type) })
        }
    }
}

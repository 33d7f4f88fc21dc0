/// A registered user, folded from the `user-<userId>` stream.
public struct User: Sendable, Equatable {
    public var userId: String
    public var name: String
    /// Where the user lives (a US state such as "California"); read models group orders by it.
    public var state: String

    public init(userId: String, name: String, state: String) {
        self.userId = userId
        self.name = name
        self.state = state
    }
}

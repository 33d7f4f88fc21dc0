/// A CDC failure that states what happened: a slot that cannot be created or read, a message
/// wal2json should not write, a table without a primary key, a lost snapshot.
public struct CDCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}

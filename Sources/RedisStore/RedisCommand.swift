/// One command as its arguments, kept in one byte buffer (binary-safe: an argument may hold any
/// bytes), so that a batch of thousands of arguments costs one allocation rather than one each.
public struct RedisCommand: Sendable, Equatable {
    private(set) var bytes: [UInt8] = []
    /// Where each argument ends in `bytes`.
    private(set) var ends: [Int] = []

    public init(_ arguments: String...) {
        self.init(arguments)
    }

    public init(_ arguments: [String]) {
        for argument in arguments { append(argument) }
    }

    public mutating func append(_ argument: String) {
        var argument = argument
        argument.withUTF8 { bytes.append(contentsOf: $0) }
        ends.append(bytes.count)
    }

    public mutating func append(_ argument: [UInt8]) {
        bytes.append(contentsOf: argument)
        ends.append(bytes.count)
    }

    /// The command's name (its first argument), for messages.
    public var name: String {
        guard let end = ends.first else { return "" }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }
}

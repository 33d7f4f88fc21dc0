/// What the stores' URL parsers (`PostgresURL`, `RedisURL`) share: percent-decoding, and how a
/// server is named in messages. Each keeps its own scheme, rules and error messages.
public enum ServerURL {
    /// `text` with its `%XX` sequences decoded, or nil when one is not `%` and two hex digits.
    public static func percentDecoded(_ text: Substring) -> [UInt8]? {
        var bytes: [UInt8] = []
        let utf8 = text.utf8
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                index = utf8.index(after: index)
                continue
            }
            let digits = utf8[utf8.index(after: index)...].prefix(2)
            guard digits.count == 2, let value = UInt8(String(decoding: digits, as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            index = utf8.index(index, offsetBy: 3)
        }
        return bytes
    }

    /// `host:port`, an IPv6 host in brackets (`[::1]:5432`).
    public static func endpoint(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// The bits of the Prometheus text format (version 0.0.4) that Prism writes itself.
enum PrometheusText {
    /// The scrape's `Content-Type`.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A label value with `\`, `"` and newlines escaped.
    static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// A sample value or bucket bound: integers without a fraction, others in decimal to the
    /// nanosecond (`0.00005`, not `5e-05`; seconds are the unit here), huge ones as Swift prints them.
    static func number(_ value: Double) -> String {
        guard abs(value) < 1e9 else { return "\(value)" }
        let nanos = Int64((value * 1e9).rounded())
        let whole = nanos / 1_000_000_000
        let fraction = abs(nanos % 1_000_000_000)
        guard fraction != 0 else { return String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(nanos < 0 && whole == 0 ? "-" : "")\(whole).\(digits)"
    }

    /// Whether `name` is a valid metric name.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || first == ":" || first.properties.isAlphabetic && first.isASCII else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == ":") }
    }
}

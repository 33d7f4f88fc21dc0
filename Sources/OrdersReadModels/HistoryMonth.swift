/// A calendar month in UTC (proleptic Gregorian), written `YYYY-MM`.
///
/// Computed from nanoseconds since the Unix epoch with integer arithmetic only (Howard Hinnant's
/// `civil_from_days`), never through the local time zone, so that every machine puts an event in
/// the same month.
struct HistoryMonth: Sendable, Hashable, Comparable {
    let year: Int
    /// 1…12.
    let month: Int

    init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// The UTC month containing the instant `nanoseconds` after 1970-01-01T00:00:00Z.
    init(epochNanoseconds nanoseconds: Int64) {
        let nanosecondsPerDay: Int64 = 86_400_000_000_000
        // Floor division, so that instants before 1970 fall in the day they belong to.
        var days = nanoseconds / nanosecondsPerDay
        if nanoseconds % nanosecondsPerDay < 0 { days -= 1 }
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097  // 0…146096
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365  // 0…399
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // 0…365, from March 1
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0…11, March = 0
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month)
    }

    /// Parses exactly `YYYY-MM` (four digits, a hyphen, two digits, month 01…12); nil otherwise.
    init?(text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-") else { return nil }
        var digits: [Int] = []
        for index in [0, 1, 2, 3, 5, 6] {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            digits.append(Int(byte - UInt8(ascii: "0")))
        }
        let year = digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]
        let month = digits[4] * 10 + digits[5]
        guard (1...12).contains(month) else { return nil }
        self.init(year: year, month: month)
    }

    /// The month `index` months after January of year 0 (the inverse of `index`).
    init(index: Int) {
        self.init(year: index / 12, month: index % 12 + 1)
    }

    /// Months since year 0: consecutive months differ by 1.
    var index: Int { year * 12 + (month - 1) }

    /// `YYYY-MM`, the year zero-padded to four digits.
    var text: String {
        // Event times (Int64 nanoseconds) span the years 1677…2262, and parsed months have four
        // digits, so the year always fits in four.
        let zero = UInt8(ascii: "0")
        let bytes: [UInt8] = [
            zero + UInt8(year / 1000 % 10), zero + UInt8(year / 100 % 10), zero + UInt8(year / 10 % 10),
            zero + UInt8(year % 10), UInt8(ascii: "-"), zero + UInt8(month / 10), zero + UInt8(month % 10),
        ]
        return String(decoding: bytes, as: UTF8.self)
    }

    static func < (lhs: HistoryMonth, rhs: HistoryMonth) -> Bool { lhs.index < rhs.index }
}

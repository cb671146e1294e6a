/// HTTP dates (RFC 9110 §5.6.7): IMF-fixdate is the only form a server sends; all three forms
/// are read, as the RFC requires of a recipient.
public enum HTTPDate {
    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats seconds since 1970 (UTC) without the C library, so it is pure and testable.
    /// Total over `Int`: no value traps (day and second of the day come from one division, where
    /// `seconds - 86_399` and `dayNumber * 86_400` overflowed near `Int.min`), though only years
    /// 1-9999 make a date a browser reads.
    public static func format(secondsSince1970 seconds: Int) -> String {
        let remainder = seconds % 86_400
        let dayNumber = seconds / 86_400 - (remainder < 0 ? 1 : 0)
        let secondOfDay = remainder < 0 ? remainder + 86_400 : remainder
        let weekday = days[((dayNumber % 7) + 7) % 7]
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(day)) \(months[month - 1]) \(year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }

    /// Seconds since 1970 (UTC) of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), an RFC 850
    /// date (`Sunday, 06-Nov-94 08:49:37 GMT`) or an asctime date (`Sun Nov  6 08:49:37 1994`);
    /// nil for anything else, so a conditional header with a bad date is ignored, as RFC 9110
    /// §13.1.3 and §13.1.5 require. Every number is range-checked before any arithmetic: a
    /// client's digits never trap.
    public static func parse(_ text: String) -> Int? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        var day: Int?, monthName: Substring?, year: Int?, time: String?
        switch tokens.count {
        case 6 where tokens[5] == "GMT":
            // IMF-fixdate: weekday, day, month, year, time, GMT.
            (day, monthName, year, time) = (number(tokens[1], digits: 2...2), tokens[2][...], number(tokens[3], digits: 4...4), tokens[4])
        case 4 where tokens[3] == "GMT":
            // RFC 850: weekday, dd-Mon-yy, time, GMT. Two-digit years are 1970-2069.
            let parts = tokens[1].split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, let short = number(String(parts[2]), digits: 2...2) else { return nil }
            (day, monthName, year, time) = (number(String(parts[0]), digits: 2...2), parts[1], short < 70 ? 2000 + short : 1900 + short, tokens[2])
        case 5:
            // asctime: weekday, month, day (one or two digits), time, year.
            (day, monthName, year, time) = (number(tokens[2], digits: 1...2), tokens[1][...], number(tokens[4], digits: 4...4), tokens[3])
        default:
            return nil
        }
        guard let day, let monthName, let year, let time,
              let month = months.firstIndex(where: { $0 == monthName }).map({ $0 + 1 }) else { return nil }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, let hour = number(String(clock[0]), digits: 2...2), let minute = number(String(clock[1]), digits: 2...2),
              let second = number(String(clock[2]), digits: 2...2),
              (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        // Days-from-civil (Howard Hinnant's algorithm), the inverse of `format`.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = shiftedYear / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return days * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// A run of ASCII digits of a length in `digits`, else nil.
    private static func number(_ text: String, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(text.utf8.count), text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return text.utf8.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}

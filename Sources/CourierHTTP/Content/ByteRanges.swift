/// What a `Range` header selects from a representation of known length (RFC 9110 §14).
public enum RangeSelection: Sendable, Equatable {
    /// No usable range: answer 200 with the whole representation.
    case whole
    /// One range of bytes: answer 206 with `Content-Range: bytes first-last/length`.
    case partial(Range<Int>)
    /// No range overlaps the representation: answer 416 with `Content-Range: bytes */length`.
    case unsatisfiable
}

/// Reads `Range: bytes=...` (RFC 9110 §14.1.2) for a representation of `length` bytes.
///
/// Several ranges are sorted and merged where they overlap or touch; when one range remains it
/// is served as 206, and when several disjoint ones remain the whole representation is sent
/// with 200, which §14.2 allows ("a server MAY ignore the Range header"). No multipart/byteranges:
/// browsers ask for one range (media seeking, resumed downloads), and a multipart answer is
/// where §14.2's warning about many small or overlapping ranges bites. So the answer is never
/// larger than the file, whatever the header asks; a header with more than `maxRanges` ranges is
/// ignored without looking at them.
///
/// A header that does not parse (another unit, `5-3`, a sign, a stray character) is ignored:
/// 200 with the whole. Numbers saturate instead of overflowing, so `bytes=99999999999999999999-`
/// is a first byte past the end (416), and a last byte past the end is the last byte.
public enum ByteRanges {
    /// More ranges than this in one header and it is ignored (200 with the whole).
    public static let maxRanges = 64

    /// The selection `header` (the Range field's value, nil when absent) makes.
    public static func select(_ header: String?, length: Int) -> RangeSelection {
        guard let header, length > 0 else { return .whole }
        var text = Substring(header)
        text = text.drop { $0 == " " || $0 == "\t" }
        guard text.utf8.count > 6, text.prefix(6).lowercased() == "bytes=" else { return .whole }
        let specs = text.dropFirst(6).split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingOWS }.filter { !$0.isEmpty }
        guard !specs.isEmpty, specs.count <= maxRanges else { return .whole }
        var satisfiable: [Range<Int>] = []
        for spec in specs {
            guard let dash = spec.firstIndex(of: "-") else { return .whole }
            let first = spec[..<dash], last = spec[spec.index(after: dash)...]
            if first.isEmpty {
                // A suffix: the last N bytes (all of them when N is larger).
                guard let count = saturatingNumber(last) else { return .whole }
                if count > 0 { satisfiable.append(max(0, length - count)..<length) }
                continue
            }
            guard let start = saturatingNumber(first) else { return .whole }
            var end = length - 1
            if !last.isEmpty {
                guard let stated = saturatingNumber(last), stated >= start else { return .whole }
                end = min(stated, length - 1)
            }
            if start < length { satisfiable.append(start..<(end + 1)) }
        }
        guard !satisfiable.isEmpty else { return .unsatisfiable }
        satisfiable.sort { $0.lowerBound < $1.lowerBound }
        var merged = satisfiable[0]
        for range in satisfiable.dropFirst() {
            guard range.lowerBound <= merged.upperBound else { return .whole }
            merged = merged.lowerBound..<max(merged.upperBound, range.upperBound)
        }
        return .partial(merged)
    }

    /// `Content-Range` of a 206.
    public static func contentRange(_ range: Range<Int>, length: Int) -> String {
        "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(length)"
    }

    /// `Content-Range` of a 416.
    public static func unsatisfiedRange(length: Int) -> String { "bytes */\(length)" }

    /// ASCII digits only (no sign, no space); `Int.max` when they go past it.
    private static func saturatingNumber(_ text: Substring) -> Int? {
        guard !text.isEmpty else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = times.addingReportingOverflow(Int(byte - 0x30))
            value = overflowTimes || overflowSum ? .max : sum
        }
        return value
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (RFC 9110's OWS).
    var trimmingOWS: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}

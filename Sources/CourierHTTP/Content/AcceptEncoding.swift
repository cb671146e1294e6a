/// A request's `Accept-Encoding` (RFC 9110 §12.5.3), read once so that a server can ask how
/// much the client wants each coding it could send.
public struct AcceptEncoding: Sendable {
    /// Each coding the client named, lower-cased, with its weight in thousandths (q=0.5 is 500).
    private var weights: [(coding: String, weight: Int)] = []
    /// Whether the request had the field at all.
    public let isPresent: Bool

    /// Reads every `Accept-Encoding` field of a request (`headers.values("Accept-Encoding")`).
    /// An element with a malformed weight (`q=2`, `q=0.5000`, `q=x`) is dropped, not guessed at.
    public init(_ fields: [String]) {
        isPresent = !fields.isEmpty
        for field in fields {
            for element in field.split(separator: ",") {
                let parameters = element.split(separator: ";").map { $0.trimmingOWS }
                guard let coding = parameters.first, !coding.isEmpty else { continue }
                var weight: Int? = 1000
                for parameter in parameters.dropFirst() {
                    let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingOWS }
                    if pair.count == 2, pair[0].lowercased() == "q" { weight = Self.weight(pair[1]) }
                }
                if let weight { weights.append((coding.lowercased(), weight)) }
            }
        }
    }

    /// How much the client accepts `coding` (lower-case, such as "gzip"), in thousandths: its own
    /// entry, else `*`'s, else 0. Without the field, only identity is assumed: a client that says
    /// nothing (curl, scripts) gets what it would expect, though the RFC allows any coding then.
    public func weight(of coding: String) -> Int {
        if let entry = weights.first(where: { $0.coding == coding }) { return entry.weight }
        if coding == "identity" {
            // Identity is acceptable unless refused by name or by `*;q=0` (§12.5.3).
            if let star = weights.first(where: { $0.coding == "*" }), star.weight == 0 { return 0 }
            return 1000
        }
        guard isPresent else { return 0 }
        return weights.first(where: { $0.coding == "*" })?.weight ?? 0
    }

    /// Of `codings` (lower-case, in the server's order of preference), the one to send: the
    /// client's highest weight above 0, the server's order breaking ties; nil when none is
    /// accepted or the client weighs identity above them all.
    public func preferred(among codings: [String]) -> String? {
        var best: (coding: String, weight: Int)?
        for coding in codings {
            let weight = weight(of: coding)
            if weight > 0, weight > (best?.weight ?? 0) { best = (coding, weight) }
        }
        guard let best else { return nil }
        if let identity = weights.first(where: { $0.coding == "identity" }), identity.weight > best.weight { return nil }
        return best.coding
    }

    /// `0`, `0.d`, `0.dd`, `0.ddd`, `1`, `1.0`, `1.00`, `1.000` (RFC 9110 §12.4.2) in thousandths.
    private static func weight(_ text: Substring) -> Int? {
        let bytes = Array(text.utf8)
        guard let whole = bytes.first, whole == 0x30 || whole == 0x31, bytes.count <= 5 else { return nil }
        if bytes.count == 1 { return whole == 0x31 ? 1000 : 0 }
        guard bytes[1] == UInt8(ascii: "."), bytes.count > 2 else { return nil }
        var thousandths = 0
        for (index, digit) in bytes[2...].enumerated() {
            guard digit >= 0x30, digit <= 0x39 else { return nil }
            thousandths += Int(digit - 0x30) * [100, 10, 1][index]
        }
        if whole == 0x31 { return thousandths == 0 ? 1000 : nil }
        return thousandths
    }
}

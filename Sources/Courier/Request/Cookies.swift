import CourierHTTP
import Foundation

extension Request {
    /// Cookies the client sent, by name (the first of a repeated name wins).
    public var cookies: [String: String] {
        var result: [String: String] = [:]
        for header in headers.values("Cookie") {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces)
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let name = String(pair[..<equals])
                var value = String(pair[pair.index(after: equals)...])
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                if result[name] == nil { result[name] = value }
            }
        }
        return result
    }
}

/// A Set-Cookie header (RFC 6265) with the attributes a careful app sets.
public struct Cookie: Sendable, Equatable {
    /// `.omitted` sends no SameSite attribute (browsers then apply their default, Lax). Not an
    /// Optional, so that `.none` means SameSite=None and never Optional.none.
    public enum SameSite: String, Sendable { case strict = "Strict", lax = "Lax", none = "None", omitted = "" }

    public var name: String
    public var value: String
    public var path: String?
    public var domain: String?
    public var maxAge: Int?
    public var expires: Date?
    public var secure: Bool
    public var httpOnly: Bool
    public var sameSite: SameSite

    public init(name: String, value: String, path: String? = "/", domain: String? = nil, maxAge: Int? = nil,
                expires: Date? = nil, secure: Bool = false, httpOnly: Bool = true, sameSite: SameSite = .lax) {
        self.name = name
        self.value = value
        self.path = path
        self.domain = domain
        self.maxAge = maxAge
        self.expires = expires
        self.secure = secure
        self.httpOnly = httpOnly
        self.sameSite = sameSite
    }

    public var headerValue: String {
        var parts = ["\(name)=\(value)"]
        if let path { parts.append("Path=\(path)") }
        if let domain { parts.append("Domain=\(domain)") }
        if let maxAge { parts.append("Max-Age=\(maxAge)") }
        if let expires { parts.append("Expires=\(HTTPDate.format(secondsSince1970: Self.expirySeconds(expires)))") }
        // Browsers drop a SameSite=None cookie without Secure.
        if secure || sameSite == .none { parts.append("Secure") }
        if httpOnly { parts.append("HttpOnly") }
        if sameSite != .omitted { parts.append("SameSite=\(sameSite.rawValue)") }
        return parts.joined(separator: "; ")
    }

    /// `expires` as whole seconds since 1970, within what a cookie date can say (RFC 6265
    /// §5.1.1: a four-digit year): anything before 1970 is 1970 (expired either way), anything
    /// after 9999-12-31T23:59:59Z is that, and NaN is expired. `Int(_:)` on the raw interval
    /// would trap for a Date built from a huge or non-finite number, as one computed from a
    /// client's value could be.
    static func expirySeconds(_ expires: Date) -> Int {
        let seconds = expires.timeIntervalSince1970
        guard !seconds.isNaN else { return 0 }
        return Int(min(max(seconds, 0), 253_402_300_799).rounded(.down))
    }
}

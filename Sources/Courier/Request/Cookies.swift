import CourierHTTP
public import Foundation

extension Request {
    /// Cookies the client sent, by name (the first of a repeated name wins).
    public var cookies: [String: String] {
        var result: [String: String] = [:]
        for header in headers.values("Cookie") {
            // Split at the bytes: ";" or "=" followed by a combining mark is one Character.
            for part in header.utf8.split(separator: UInt8(ascii: ";")) {
                let pair = Substring(part).trimmingCharacters(in: .whitespaces)
                guard let equals = pair.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
                let name = String(Substring(pair.utf8[..<equals]))
                var value = String(Substring(pair.utf8[pair.utf8.index(after: equals)...]))
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
    public enum SameSite: String, Sendable {
        /// Sent only with requests that start on this site.
        case strict = "Strict"
        /// Also sent when the user follows a link here from another site (top-level GET).
        case lax = "Lax"
        /// Sent with cross-site requests too; browsers require `secure` with it.
        case none = "None"
        /// No SameSite attribute at all.
        case omitted = ""
    }

    /// The cookie's name; not escaped, so it must be a plain token.
    public var name: String
    /// Sent as is, not encoded: keep to cookie-safe characters (no `;`, `,`, spaces or quotes), or encode it first.
    public var value: String
    /// The path prefix the browser sends it for; "/" (the whole site) by default, nil for the browser's default (the current directory).
    public var path: String?
    /// nil keeps the cookie to this host alone; a domain shares it with every subdomain too.
    public var domain: String?
    /// Lifetime in seconds (0 or less deletes it at once); nil with no `expires` makes a session cookie. Browsers prefer it over `expires`.
    public var maxAge: Int?
    /// Absolute expiry, for old browsers that ignore Max-Age; clamped to 1970...9999.
    public var expires: Date?
    /// Sent only over HTTPS. Forced on when `sameSite` is `.none`, which browsers require.
    public var secure: Bool
    /// Hidden from page scripts (on by default), so an injected script cannot read it.
    public var httpOnly: Bool
    /// When the browser sends it on cross-site requests; `.lax` by default.
    public var sameSite: SameSite

    /// Defaults: the whole site, this host only, a session cookie, HttpOnly, SameSite=Lax, not Secure (set `secure` behind HTTPS).
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

    /// The Set-Cookie value: `name=value` and the attributes set, Secure added when SameSite is None.
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

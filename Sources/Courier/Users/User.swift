import Foundation

/// A signed-in user, as App Engine's `users.get_current_user()` gave it. Made by `Users`
/// (`request.user`, `users.user(email:)`), never from an email alone: the ID is keyed with the
/// session secret.
public struct User: Sendable, Hashable, Codable {
    /// The address signed in with, trimmed and lowercased.
    public let email: String
    /// Stable for an email (the same on every server sharing the session secret, and after
    /// restarts) and opaque: 21 digits, shaped like App Engine's user IDs, so apps can build
    /// channel client IDs and game keys from it. Keyed, because apps hand those out as
    /// capabilities: an ID anyone could compute from an email would let them act as its owner.
    public let id: String

    init(email: String, ids: UserIDKey) {
        let normalized = User.normalize(email)
        self.email = normalized
        self.id = ids.id(for: normalized)
    }

    /// The part before `@`, as App Engine's `nickname()` gave for Google accounts.
    public var nickname: String { String(email.split(separator: "@", maxSplits: 1).first ?? Substring(email)) }

    static func normalize(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// Why `email` cannot sign in, or nil when it can.
    static func problem(with email: String) -> String? {
        let normalized = normalize(email)
        if normalized.isEmpty { return "Enter an email address." }
        if normalized.utf8.count > 254 { return "That email address is too long." }
        let parts = normalized.split(separator: "@", omittingEmptySubsequences: false)
        if parts.count != 2 || parts[0].isEmpty || parts[1].isEmpty { return "That is not an email address." }
        if normalized.unicodeScalars.contains(where: { $0.value < 0x21 || $0 == "\u{7F}" || "<>\"',;\\".unicodeScalars.contains($0) }) {
            return "That is not an email address."
        }
        return nil
    }
}

enum UserKey: RequestStorageKey {
    typealias Value = User
}

extension Request {
    /// The user the `Users` middleware found in the session cookie; nil when signed out (or
    /// when the app does not use `Users`).
    public var user: User? {
        get { storage[UserKey.self] }
        set { storage[UserKey.self] = newValue }
    }
}

import CourierHTTP
public import Foundation

/// Sign-in for apps that need to know who is who, as App Engine's development server gave it:
/// `/_ah/login` asks for an email (no password; this is the dev server's login, not an
/// identity provider) and `/_ah/logout` signs out. The user travels in a signed, HttpOnly,
/// SameSite=Lax cookie, so there is no session table and a restart signs nobody out.
///
///     app.use(Users())
///     if let user = request.user { ... } else { response.redirect(to: Users.loginURL(continue: request.url)) }
public struct Users: RequestFilter {
    /// The sign-in page; `loginURL(continue:)` builds links to it.
    public static let loginPath = "/_ah/login"
    /// Signs out and redirects; `logoutURL(continue:)` builds links to it.
    public static let logoutPath = "/_ah/logout"

    /// The session cookie's name.
    public let cookieName: String
    /// How long a sign-in lasts.
    public let lifetimeSeconds: Int
    /// Adds `Secure` to every session cookie. Without it, the cookie is `Secure` exactly when
    /// the sign-in came over HTTPS (`request.isSecure`, which a trusted TLS proxy reports), so
    /// a site behind one needs nothing set; turn it on to refuse ever to set one over plain HTTP.
    public let secureCookie: Bool
    let cookie: SessionCookie
    let userIDs: UserIDKey
    let now: @Sendable () -> Int
    /// Why the stored secret could not be had (`init(secureCookie:)`): `mount` reports it, so
    /// `run()` refuses to start rather than sign cookies with a secret no restart would keep.
    private var setupError: ApplicationError?

    /// `secret` (at least 16 bytes, else it traps) signs the cookie and keys user IDs: servers sharing it share sign-ins and IDs. `now` gives Unix seconds, for tests. Sign-ins last 30 days by default.
    public init(secret: [UInt8], cookieName: String = "courier_user", lifetimeSeconds: Int = 30 * 24 * 3600,
                secureCookie: Bool = false, now: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }) {
        precondition(secret.count >= 16, "a session secret needs at least 16 bytes")
        self.cookie = SessionCookie(secret: secret)
        self.userIDs = UserIDKey(secret: secret)
        self.cookieName = cookieName
        self.lifetimeSeconds = lifetimeSeconds
        self.secureCookie = secureCookie
        self.now = now
    }

    /// The secret from `COURIER_SESSION_SECRET`, else from (or into) `secretPath`.
    public init(secretPath: String, secureCookie: Bool = false) throws {
        self.init(secret: try StoredSecret.load(environmentVariable: "COURIER_SESSION_SECRET", path: secretPath),
                  secureCookie: secureCookie)
    }

    /// `app.use(Users())`, as DESIGN.md writes it: the secret from `COURIER_SESSION_SECRET`, else
    /// from (or into) `courier-data/session-secret`. When neither can be had, `run()` fails
    /// with the reason before serving anything.
    public init(secureCookie: Bool = false) {
        do {
            try self.init(secretPath: "courier-data/session-secret", secureCookie: secureCookie)
        } catch {
            var generator = SystemRandomNumberGenerator()
            self.init(secret: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }, secureCookie: secureCookie)
            setupError = ApplicationError("session secret: \(error)")
        }
    }

    /// `users.create_login_url(dest)`.
    public static func loginURL(continue destination: String) -> String {
        "\(loginPath)?continue=\(URLEncoding.encode(destination))"
    }

    /// `users.create_logout_url(dest)`.
    public static func logoutURL(continue destination: String) -> String {
        "\(logoutPath)?continue=\(URLEncoding.encode(destination))"
    }

    /// The user signed in with `email`, with the ID this secret gives it: for apps that name
    /// users they have not seen sign in (an invite list, an admin tool, a test).
    public func user(email: String) -> User {
        User(email: email, ids: userIDs)
    }

    /// Sets `request.user` from a valid, unexpired session cookie, or nil. Never refuses a request.
    public func filter(_ request: inout Request) throws {
        request.user = currentUser(request)
    }

    func currentUser(_ request: Request) -> User? {
        guard let value = request.cookies[cookieName] else { return nil }
        return cookie.email(from: value, now: now()).map(user(email:))
    }

    /// Adds the login and logout routes; throws the secret's setup error, if any, so `run()` refuses to start.
    public func mount(on app: Application) throws {
        if let setupError { throw setupError }
        let users = self
        // A GET carrying `email` and `action` is how the dev server's own form submitted; its
        // "Log Out" button sent action=Logout to the same page.
        app.get(Self.loginPath) { request, response in
            if Self.isLogout(request["action"]) {
                users.signOut(request, &response)
            } else if !request["action"].isEmpty, !request["email"].isEmpty {
                users.signIn(request, &response)
            } else {
                response.contentType = "text/html; charset=utf-8"
                response.write(LoginPage.render(continue: Self.safeDestination(request["continue"], for: request),
                                                email: "", problem: nil))
            }
        }
        app.post(Self.loginPath, maxBodyBytes: 16 * 1024) { request, response in
            if Self.isLogout(request["action"]) { users.signOut(request, &response) } else { users.signIn(request, &response) }
        }
        app.get(Self.logoutPath) { request, response in users.signOut(request, &response) }
        app.post(Self.logoutPath) { request, response in users.signOut(request, &response) }
    }

    static func isLogout(_ action: String) -> Bool {
        action.lowercased().filter { $0 != " " } == "logout"
    }

    func signOut(_ request: Request, _ response: inout Response) {
        response.redirect(to: Self.safeDestination(request["continue"], for: request))
        response.setCookie(sessionCookie(value: "", maxAge: 0, for: request))
    }

    func signIn(_ request: Request, _ response: inout Response) {
        let email = request["email"]
        let destination = Self.safeDestination(request["continue"], for: request)
        if let problem = User.problem(with: email) {
            response.status = .badRequest
            response.contentType = "text/html; charset=utf-8"
            response.write(LoginPage.render(continue: destination, email: email, problem: problem))
            return
        }
        let user = self.user(email: email)
        response.redirect(to: destination)
        response.setCookie(sessionCookie(value: cookie.value(for: user, now: now(), lifetimeSeconds: lifetimeSeconds),
                                         maxAge: lifetimeSeconds, for: request))
    }

    func sessionCookie(value: String, maxAge: Int, for request: Request) -> Cookie {
        Cookie(name: cookieName, value: value, path: "/", maxAge: maxAge, secure: secureCookie || request.isSecure,
               httpOnly: true, sameSite: .lax)
    }

    /// Where `continue=` may send the browser: a path on this site, or an absolute URL naming
    /// this host (App Engine apps pass `request.uri`); anything else goes to "/", so the login
    /// page can never be used to bounce users to another site.
    static func safeDestination(_ destination: String, for request: Request) -> String {
        var candidate = Substring(destination)
        for prefix in ["http://", "https://"] where candidate.lowercased().hasPrefix(prefix) {
            let rest = candidate.dropFirst(prefix.count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" && $0 != "\\" }
            guard authority.lowercased() == request.host.lowercased() else { return "/" }
            candidate = rest.dropFirst(authority.count)
            if candidate.isEmpty { return "/" }
        }
        guard candidate.hasPrefix("/"), !candidate.hasPrefix("//"), !candidate.hasPrefix("/\\"),
              !candidate.contains(where: { $0.isNewline || $0 == "\0" || $0 == "\\" }),
              !candidate.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return "/" }
        return String(candidate)
    }
}

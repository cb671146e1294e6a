import Courier
import CourierTesting
import Foundation
import Testing

/// A Set-Cookie value split into its `name=value` pair and its attributes (order is free).
private struct SetCookie: Equatable {
    let pair: String
    let attributes: Set<String>

    init(_ header: String) {
        let parts = header.split(separator: ";").map { String($0.drop { $0 == " " }) }
        pair = parts.first ?? ""
        attributes = Set(parts.dropFirst())
    }

    init(pair: String, _ attributes: Set<String>) {
        self.pair = pair
        self.attributes = attributes
    }
}

@Suite struct CookieTests {
    @Test(arguments: bothModes)
    func cookiesAreReadFromTheCookieHeader(mode: TestMode) async throws {
        let app = Application()
        app.get("/cookies") { request, response in try response.json(request.cookies) }
        try await app.test(mode) { client throws in
            let headers: HTTPHeaders = ["Cookie": "session=abc123; theme=\"dark\";lang=en; session=second"]
            let response = try await client.get("/cookies", headers: headers)
            let cookies = try JSONDecoder().decode([String: String].self, from: Data(response.body))
            #expect(cookies == ["session": "abc123", "theme": "dark", "lang": "en"])
            let none = try await client.get("/cookies")
            #expect(try JSONDecoder().decode([String: String].self, from: Data(none.body)) == [:])
        }
    }

    @Test(arguments: bothModes)
    func setCookieCarriesItsAttributes(mode: TestMode) async throws {
        let app = Application()
        app.get("/login") { _, response in
            response.setCookie(Cookie(name: "session", value: "abc"))
            response.setCookie(Cookie(name: "remember", value: "1", path: "/account", maxAge: 3600, secure: true, sameSite: .strict))
            response.setCookie(Cookie(name: "widget", value: "x", secure: false, httpOnly: false, sameSite: .none))
            response.setCookie(Cookie(name: "plain", value: "y", path: nil, httpOnly: false, sameSite: .omitted))
            response.setCookie(Cookie(name: "dated", value: "z", domain: "example.com", expires: Date(timeIntervalSince1970: 86_400)))
            response.write("welcome")
        }
        try await app.test(mode) { client throws in
            let response = try await client.get("/login")
            let cookies = response.headers.values("Set-Cookie").map(SetCookie.init)
            #expect(cookies == [
                SetCookie(pair: "session=abc", ["Path=/", "HttpOnly", "SameSite=Lax"]),
                SetCookie(pair: "remember=1", ["Path=/account", "Max-Age=3600", "Secure", "HttpOnly", "SameSite=Strict"]),
                // Browsers drop SameSite=None without Secure, so it is always added.
                SetCookie(pair: "widget=x", ["Path=/", "Secure", "SameSite=None"]),
                SetCookie(pair: "plain=y", []),
                SetCookie(pair: "dated=z", ["Path=/", "Domain=example.com", "Expires=Fri, 02 Jan 1970 00:00:00 GMT", "HttpOnly", "SameSite=Lax"]),
            ])
            #expect(response.text == "welcome")
        }
    }

    @Test(arguments: bothModes)
    func deleteCookieExpiresIt(mode: TestMode) async throws {
        let app = Application()
        app.post("/logout") { _, response in response.deleteCookie("session") }
        try await app.test(mode) { client throws in
            let response = try await client.post("/logout")
            #expect(response.headers.values("Set-Cookie").map(SetCookie.init)
                == [SetCookie(pair: "session=", ["Path=/", "Max-Age=0", "HttpOnly", "SameSite=Lax"])])
        }
    }
}

@testable import Courier
import CourierTesting
import Foundation
import Testing

/// Sign-in as the page sees it: the redirect to `/_ah/login`, the form, `continue=`, the
/// signed cookie and sign-out.
@Suite("TicTacToe: users") struct TicTacToeUsersTests {
    @Test func signedOutVisitorIsSentToTheLoginPageAndBack() async throws {
        try await withTicTacToe { server in
            let browser = Player("nobody", port: server.port)
            let first = try await browser.get("/?g=abc")
            #expect(first.status == 302)
            let location = try #require(first.headers["Location"])
            let expected = "/_ah/login?continue=" + URLEncoding.encode("http://127.0.0.1:\(server.port)/?g=abc")
            #expect(location == expected)

            let form = try await browser.get(location)
            #expect(form.status == 200)
            #expect(form.text.contains("name=\"email\""))
            #expect(form.text.contains("type=\"submit\""))
            #expect(form.text.contains("name=\"continue\" value=\"/?g=abc\""))

            let signIn = try await browser.http.post("/_ah/login", form: [("email", "ann@example.com"),
                                                                          ("continue", "http://127.0.0.1:\(server.port)/?g=abc")])
            #expect(signIn.status == 302)
            #expect(signIn.headers["Location"] == "/?g=abc")
            let cookie = try #require(signIn.headers["Set-Cookie"])
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(cookie.contains("Path=/"))
            #expect(!cookie.contains("ann@example.com"), "the email is encoded, not in clear")
        }
    }

    @Test func devServerStyleGetSignsInToo() async throws {
        try await withTicTacToe { server in
            let browser = Player("x", port: server.port)
            let response = try await browser.get("/_ah/login?email=bob%40example.com&action=Log+In&continue=%2F")
            #expect(response.status == 302)
            #expect(response.headers["Location"] == "/")
            #expect(response.headers["Set-Cookie"]?.hasPrefix("courier_user=") == true)
        }
    }

    @Test(arguments: ["//evil.example/", "http://evil.example/x", "https://evil.example", "/\\evil.example",
                      "javascript:alert(1)", "evil.example", "http://127.0.0.1.evil.example/"])
    func continueNeverLeavesTheSite(_ destination: String) async throws {
        try await withTicTacToe { server in
            let browser = Player("x", port: server.port)
            let response = try await browser.http.post("/_ah/login", form: [("email", "eve@example.com"), ("continue", destination)])
            #expect(response.status == 302)
            #expect(response.headers["Location"] == "/")
            let out = try await browser.get("/_ah/logout?continue=\(URLEncoding.encode(destination))")
            #expect(out.headers["Location"] == "/")
        }
    }

    @Test(arguments: ["", "   ", "no-at-sign", "@example.com", "a@", "a b@example.com", "<script>@example.com"])
    func badEmailsAreRefusedWithTheFormAgain(_ email: String) async throws {
        try await withTicTacToe { server in
            let browser = Player("x", port: server.port)
            let response = try await browser.http.post("/_ah/login", form: [("email", email), ("continue", "/")])
            #expect(response.status == 400)
            #expect(response.headers["Set-Cookie"] == nil)
            #expect(response.text.contains("id=\"problem\""))
            #expect(!response.text.contains("<script>@"), "the email is escaped when shown again")
        }
    }

    @Test func theUserIDIsStableForAnEmail() async throws {
        try await withTicTacToe { server in
            let first = try await Player.signedIn("Same@Example.com", port: server.port)
            try await first.open()
            let second = try await Player.signedIn("same@example.com", port: server.port)
            try await second.open()
            let other = try await Player.signedIn("other@example.com", port: server.port)
            try await other.open()
            #expect(try first.me == second.me)
            #expect(try first.me != other.me)
            #expect(try first.me.count == 21 && first.me.hasPrefix("1") && first.me.allSatisfy { $0.isASCII && $0.isNumber })
            // Another process with the same secret (a second worker machine, a restart) gives it too.
            #expect(try first.me == Users(secret: TicTacToeServer.sessionSecret).user(email: " SAME@example.com ").id)
        }
    }

    /// What the first version computed, SHA-256 of "courier-user:" + email with no key, made
    /// from outside with `python3 -c 'import hashlib; n = int.from_bytes(hashlib.sha256(b"courier-user:"
    /// + email).digest()[:8], "big"); print("1" + str(n).zfill(20))'`. Anyone who knew an email
    /// could compute it, and a user's ID is their game's key.
    static let unkeyedIDs = ["alice@example.com": "101620348948064952660", "x@example.com": "112816472580128519613"]

    @Test func theUserIDIsKeyedWithTheSessionSecret() {
        let email = "alice@example.com"
        let id = Users(secret: TicTacToeServer.sessionSecret).user(email: email).id
        #expect(id.count == 21 && id.hasPrefix("1") && id.allSatisfy { $0.isASCII && $0.isNumber })
        #expect(id != Self.unkeyedIDs[email], "not the unkeyed hash of the email")
        #expect(id == Users(secret: TicTacToeServer.sessionSecret).user(email: "Alice@Example.com").id, "stable for one secret")
        let otherSecret = Users(secret: Array(repeating: 7, count: 32)).user(email: email).id
        #expect(otherSecret != id, "another secret, another ID")
        #expect(otherSecret.count == 21 && otherSecret.hasPrefix("1"))
    }

    /// The attack the keyed ID stops: X's game is keyed by X's ID, so whoever could compute it
    /// from X's email took seat O without the invite.
    @Test func knowingAPlayersEmailDoesNotFindTheirGame() async throws {
        try await withTicTacToe { server in
            let x = try await Player.signedIn("x@example.com", port: server.port)
            try await x.open()
            let unkeyed = try #require(Self.unkeyedIDs["x@example.com"])
            #expect(try x.gameKey != unkeyed)
            let intruder = try await Player.signedIn("intruder@example.com", port: server.port)
            let response = try await intruder.open("/?g=\(unkeyed)")
            #expect(response.status == 404)
            #expect(try await server.storedGame(try x.gameKey)?.userO == "", "the intruder did not take seat O")
        }
    }

    @Test func logoutSignsOut() async throws {
        try await withTicTacToe { server in
            let player = try await Player.signedIn("carol@example.com", port: server.port)
            #expect(try await player.get("/").status == 200)
            let out = try await player.get("/_ah/logout?continue=%2F")
            #expect(out.status == 302)
            #expect(out.headers["Location"] == "/")
            let cleared = try #require(out.headers["Set-Cookie"])
            #expect(cleared.contains("Max-Age=0"))
            player.cookie = String(cleared.split(separator: ";")[0])
            #expect(try await player.get("/").status == 302)
        }
    }

    /// The dev server's form had a Log Out button on the same page: action=Logout signs out.
    @Test(arguments: ["Logout", "logout", "Log Out"])
    func theLoginPagesLogOutActionSignsOut(action: String) async throws {
        try await withTicTacToe { server in
            let player = try await Player.signedIn("dave@example.com", port: server.port)
            let encoded = action.replacingOccurrences(of: " ", with: "+")
            let out = try await player.get("/_ah/login?action=\(encoded)&email=dave%40example.com&continue=%2F")
            #expect(out.status == 302)
            #expect(out.headers["Location"] == "/")
            let cleared = try #require(out.headers["Set-Cookie"])
            #expect(cleared.hasPrefix("courier_user=;") && cleared.contains("Max-Age=0"))
            player.cookie = String(cleared.split(separator: ";")[0])
            #expect(try await player.get("/").status == 302)
        }
    }

    @Test func aTamperedOrForeignCookieIsNobody() async throws {
        try await withTicTacToe { server in
            let player = try await Player.signedIn("dave@example.com", port: server.port)
            let good = player.cookie
            var characters = Array(good)
            let index = characters.count - 3
            characters[index] = characters[index] == "A" ? "B" : "A"
            player.cookie = String(characters)
            #expect(try await player.get("/").status == 302)
            // A cookie signed with another secret names a user too, but is not ours.
            let foreign = Users(secret: Array(repeating: 7, count: 32))
            var response = Response()
            foreign.signInForTesting(email: "dave@example.com", &response)
            player.cookie = String(try #require(response.headers["Set-Cookie"]).split(separator: ";")[0])
            #expect(try await player.get("/").status == 302)
            player.cookie = good
            #expect(try await player.get("/").status == 200)
        }
    }

    @Test func anExpiredSignInIsNobody() async throws {
        let users = Users(secret: TicTacToeServer.sessionSecret, lifetimeSeconds: 60, now: { 1_000 })
        var response = Response()
        users.signInForTesting(email: "old@example.com", &response)
        let cookie = String(try #require(response.headers["Set-Cookie"]).split(separator: ";")[0])
        #expect(try await signedInEmail(cookie: cookie, users: Users(secret: TicTacToeServer.sessionSecret, now: { 1_059 }))
                == "old@example.com")
        #expect(try await signedInEmail(cookie: cookie, users: Users(secret: TicTacToeServer.sessionSecret, now: { 1_061 }))
                == "nobody")
    }
}

/// Who `users` finds in `cookie`.
func signedInEmail(cookie: String, users: Users) async throws -> String {
    let app = Application()
    app.use(users)
    app.get("/who") { request, response in response.write(request.user?.email ?? "nobody") }
    var email = ""
    try await app.test(.inProcess) { client in
        var headers = HTTPHeaders()
        headers.add("Cookie", cookie)
        email = try await client.get("/who", headers: headers).text
    }
    return email
}

extension Users {
    /// What a successful form post does, without a server.
    func signInForTesting(email: String, _ response: inout Response) {
        var headers = HTTPHeaders()
        headers.set("Content-Type", "application/x-www-form-urlencoded")
        let request = Request(method: .post, target: "/_ah/login", headers: headers,
                              body: Array("email=\(URLEncoding.encode(email))&continue=%2F".utf8))
        signIn(request, &response)
    }
}

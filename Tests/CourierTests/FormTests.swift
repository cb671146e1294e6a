import Courier
import CourierTesting
import Foundation
import Testing

/// `request["name"]` and `request.all(name)`: webapp2's `request.get`, over query and form.
@Suite struct FormTests {
    private func fieldEcho() -> Application {
        let app = Application()
        let echo: SyncHandler = { request, response in
            try response.json([
                "name": [request["name"]],
                "missing": [request["missing"]],
                "tag": request.all("tag"),
            ])
        }
        app.get("/echo", echo)
        app.post("/echo", echo)
        return app
    }

    private func decode(_ response: TestResponse) throws -> [String: [String]] {
        try JSONDecoder().decode([String: [String]].self, from: Data(response.body))
    }

    @Test(arguments: bothModes)
    func queryFields(mode: TestMode) async throws {
        try await fieldEcho().test(mode) { client throws in
            let fields = try decode(try await client.get("/echo?name=Ada+Lovelace&tag=a&tag=b%26c"))
            #expect(fields["name"] == ["Ada Lovelace"])
            #expect(fields["tag"] == ["a", "b&c"])
            #expect(fields["missing"] == [""])
        }
    }

    @Test(arguments: bothModes)
    func formBodyFields(mode: TestMode) async throws {
        try await fieldEcho().test(mode) { client throws in
            let response = try await client.post("/echo", form: [("name", "Grace Hopper"), ("tag", "ü=1&2"), ("tag", "+")])
            let fields = try decode(response)
            #expect(fields["name"] == ["Grace Hopper"])
            #expect(fields["tag"] == ["ü=1&2", "+"])
            #expect(fields["missing"] == [""])
        }
    }

    @Test(arguments: bothModes)
    func plusAndPercentEscapesInARawBody(mode: TestMode) async throws {
        try await fieldEcho().test(mode) { client throws in
            let headers: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"]
            let body = Array("name=two+words%21&tag=%C3%A9t%C3%A9&tag=100%25".utf8)
            let fields = try decode(try await client.post("/echo", headers: headers, body: body))
            #expect(fields["name"] == ["two words!"])
            #expect(fields["tag"] == ["été", "100%"])
        }
    }

    @Test(arguments: bothModes)
    func queryComesBeforeFormAndAllHasBoth(mode: TestMode) async throws {
        try await fieldEcho().test(mode) { client throws in
            let fields = try decode(try await client.post("/echo?name=query&tag=q", form: [("name", "form"), ("tag", "f")]))
            #expect(fields["name"] == ["query"])
            #expect(fields["tag"] == ["q", "f"])
        }
    }

    @Test(arguments: bothModes)
    func aBodyThatIsNotAFormIsNotReadAsFields(mode: TestMode) async throws {
        try await fieldEcho().test(mode) { client throws in
            let headers: HTTPHeaders = ["Content-Type": "text/plain"]
            let fields = try decode(try await client.post("/echo", headers: headers, body: Array("name=sneaky".utf8)))
            #expect(fields["name"] == [""])
        }
    }

    @Test(arguments: bothModes)
    func fieldsWithoutAValueAreEmpty(mode: TestMode) async throws {
        try await fieldEcho().test(mode) { client throws in
            let fields = try decode(try await client.get("/echo?name&tag=&tag=x"))
            #expect(fields["name"] == [""])
            #expect(fields["tag"] == ["", "x"])
        }
    }

    @Test(arguments: bothModes)
    func mergedFieldsKeepTheFirstValue(mode: TestMode) async throws {
        let app = Application()
        app.post("/fields") { request, response in try response.json(request.fields) }
        try await app.test(mode) { client throws in
            let response = try await client.post("/fields?a=1&a=2", form: [("a", "3"), ("b", "4")])
            #expect(try JSONDecoder().decode([String: String].self, from: Data(response.body)) == ["a": "1", "b": "4"])
        }
    }
}

/// Found by FuzzChannel: fields were split at Characters, and "&" (or "=", or a cookie's ";")
/// followed by a combining mark is one Character that is neither, so two fields read as one.
/// Browsers split at the bytes; so does Courier now.
@Suite struct FormByteSplitTests {
    @Test func anAmpersandBeforeACombiningMarkStillSeparatesFields() {
        let body = "cid=abc&\u{34E}x=y&seq=7"
        let request = Request(method: .post, target: "/p", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                              body: Array(body.utf8))
        #expect(request["cid"] == "abc")
        #expect(request["seq"] == "7")
        #expect(request["\u{34E}x"] == "y")
        let query = Request(method: .get, target: "/p?a=1&\u{301}b=2")
        #expect(query["a"] == "1")
        #expect(URLEncoding.pairs(in: "k=\u{301}v&=\u{301}")[...].map { "\($0.0)|\($0.1)" } == ["k|\u{301}v", "|\u{301}"])
    }

    @Test func aCookieSeparatorBeforeACombiningMarkStillSeparates() {
        let request = Request(method: .get, target: "/", headers: ["Cookie": "a=1;\u{301}b=2; c=3"])
        #expect(request.cookies["a"] == "1")
        #expect(request.cookies["\u{301}b"] == "2")
        #expect(request.cookies["c"] == "3")
    }
}

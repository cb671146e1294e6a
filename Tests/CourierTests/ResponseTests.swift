import Courier
import CourierTesting
import Foundation
import Testing

struct Move: Codable, Equatable {
    var player: String
    var square: Int
}

@Suite struct ResponseTests {
    @Test(arguments: bothModes)
    func redirects(mode: TestMode) async throws {
        let app = Application()
        app.get("/old") { _, response in response.redirect(to: "/new") }
        app.post("/form") { _, response in response.redirect(to: "/thanks?id=7", status: .seeOther) }
        try await app.test(mode) { client throws in
            let found = try await client.get("/old")
            #expect(found.status == 302)
            #expect(found.headers["Location"] == "/new")
            #expect(found.body.isEmpty)
            let seeOther = try await client.post("/form")
            #expect(seeOther.status == 303)
            #expect(seeOther.headers["Location"] == "/thanks?id=7")
        }
    }

    /// A redirect target or cookie value taken from the request must not be able to add
    /// headers of its own (response splitting): the app built an unsendable response, so 500.
    @Test(arguments: bothModes)
    func headerValuesCannotSmuggleHeaders(mode: TestMode) async throws {
        let app = Application()
        app.get("/go") { request, response in response.redirect(to: request["next"]) }
        app.get("/remember") { request, response in response.setCookie(Cookie(name: "last", value: request["value"])) }
        try await app.test(mode) { client throws in
            for target in ["/go?next=/home%0D%0ASet-Cookie:%20admin=1", "/go?next=/home%0ASet-Cookie:%20admin=1",
                           "/remember?value=x%0D%0ASet-Cookie:%20admin=1"] {
                let response = try await client.get(target)
                #expect(response.status == 500, "\(target)")
                #expect(response.headers["Location"] == nil, "\(target)")
                #expect(!response.headers.values("Set-Cookie").contains { $0.contains("admin") }, "\(target)")
            }
            let safe = try await client.get("/go?next=/home%3Fa%3D1")
            #expect(safe.status == 302)
            #expect(safe.headers["Location"] == "/home?a=1")
        }
    }

    @Test(arguments: bothModes)
    func httpErrorsAnswerWithTheirStatusAndMessage(mode: TestMode) async throws {
        let app = Application()
        app.get("/game/<key>") { _, _ in throw HTTPError(.notFound, "No such game") }
        app.get("/async/<key>") { (_: Request, _: inout Response) async throws in
            await Task.yield()
            throw HTTPError(.forbidden, "Not your game", headers: ["X-Reason": "owner"])
        }
        app.get("/bare") { _, _ in throw HTTPError(.conflict) }
        try await app.test(mode) { client throws in
            let missing = try await client.get("/game/zz")
            #expect(missing.status == 404)
            #expect(missing.text.trimmingCharacters(in: .whitespacesAndNewlines) == "No such game")
            #expect(missing.headers["Content-Type"]?.hasPrefix("text/plain") == true)
            let forbidden = try await client.get("/async/zz")
            #expect(forbidden.status == 403)
            #expect(forbidden.text.trimmingCharacters(in: .whitespacesAndNewlines) == "Not your game")
            #expect(forbidden.headers["X-Reason"] == "owner")
            let bare = try await client.get("/bare")
            #expect(bare.status == 409)
            #expect(bare.text.contains("409"))
        }
    }

    @Test(arguments: bothModes)
    func otherErrorsAre500WithoutTheirText(mode: TestMode) async throws {
        let app = Application()
        app.get("/sync") { _, response in
            response.write("half a page")
            throw LeakyError()
        }
        app.get("/async") { (_: Request, response: inout Response) async throws in
            await Task.yield()
            response.headers.set("X-Partial", "yes")
            throw LeakyError()
        }
        try await app.test(mode) { client throws in
            for path in ["/sync", "/async"] {
                let response = try await client.get(path)
                #expect(response.status == 500, "\(path)")
                #expect(!response.text.contains("hunter2"), "\(path)")
                #expect(!response.text.contains("LeakyError"), "\(path)")
                #expect(!response.text.contains("half a page"), "\(path)")
                #expect(response.headers["X-Partial"] == nil, "\(path)")
            }
        }
    }

    @Test(arguments: bothModes)
    func jsonResponses(mode: TestMode) async throws {
        let app = Application()
        app.get("/move") { _, response in try response.json(Move(player: "X", square: 4)) }
        app.post("/moves") { request, response in
            var move = try request.decode(Move.self)
            move.square += 1
            try response.json(move, status: .created)
        }
        try await app.test(mode) { client throws in
            let got = try await client.get("/move")
            #expect(got.status == 200)
            #expect(got.headers["Content-Type"] == "application/json")
            #expect(try JSONDecoder().decode(Move.self, from: Data(got.body)) == Move(player: "X", square: 4))

            let body = try JSONEncoder().encode(Move(player: "O", square: 1))
            let posted = try await client.post("/moves", headers: ["Content-Type": "application/json"], body: Array(body))
            #expect(posted.status == 201)
            #expect(posted.headers["Content-Type"] == "application/json")
            #expect(try JSONDecoder().decode(Move.self, from: Data(posted.body)) == Move(player: "O", square: 2))
        }
    }

    @Test(arguments: bothModes)
    func badJSONIs400(mode: TestMode) async throws {
        let app = Application()
        app.post("/moves") { request, response in try response.json(try request.decode(Move.self)) }
        try await app.test(mode) { client throws in
            for body in ["{not json", "{\"player\": \"X\"}", "", "[1,2]"] {
                let response = try await client.post("/moves", headers: ["Content-Type": "application/json"], body: Array(body.utf8))
                #expect(response.status == 400, "body \(body)")
                #expect(response.headers["Content-Type"]?.hasPrefix("text/plain") == true, "body \(body)")
            }
        }
    }

    @Test(arguments: bothModes)
    func defaultContentTypeIsHTML(mode: TestMode) async throws {
        let app = Application()
        app.get("/page") { _, response in response.write("<p>hi</p>") }
        app.get("/text") { _, response in
            response.contentType = "text/plain"
            response.write("hi")
        }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/page").headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(try await client.get("/text").headers["Content-Type"] == "text/plain")
        }
    }

    @Test(arguments: bothModes)
    func streamedResponses(mode: TestMode) async throws {
        let app = Application()
        app.get("/count") { _, response in
            response.contentType = "text/plain"
            response.stream { writer in
                for number in 1...3 {
                    writer.write("line \(number)\n")
                    try await Task.sleep(for: .milliseconds(2))
                }
                writer.write(Array("end".utf8))
            }
        }
        try await app.test(mode) { client throws in
            let response = try await client.get("/count")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "text/plain")
            #expect(response.text == "line 1\nline 2\nline 3\nend")
            if mode == .live {
                #expect(response.headers["Transfer-Encoding"] == "chunked")
                let head = try await client.head("/count")
                #expect(head.status == 200)
                #expect(head.body.isEmpty)
                // The connection is still in step after a streamed HEAD.
                #expect(try await client.get("/count").text == "line 1\nline 2\nline 3\nend")
            }
        }
    }

    /// A producer that throws half-way must not let the client take the body for complete: no
    /// last chunk, and the connection closes.
    @Test func aFailingStreamEndsWithoutTheLastChunkAndCloses() async throws {
        struct Broken: Error {}
        let app = Application()
        app.get("/broken") { _, response in
            response.stream { writer in
                writer.write("partial")
                throw Broken()
            }
        }
        let server = try app.start(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, workers: 1, handlesSignals: false))
        defer {
            server.shutdown()
            server.waitUntilStopped()
        }
        let client = try RawClient(port: server.port, timeoutSeconds: 5)
        #expect(client.send("GET /broken HTTP/1.1\r\nHost: x\r\n\r\n"))
        let raw = String(decoding: client.readUntilClose(), as: UTF8.self)
        #expect(raw.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(raw.contains("Transfer-Encoding: chunked"))
        #expect(raw.hasSuffix("7\r\npartial\r\n"), "the body stops after the last good chunk: \(raw.debugDescription)")
        #expect(!raw.contains("\r\n0\r\n\r\n"))
    }
}

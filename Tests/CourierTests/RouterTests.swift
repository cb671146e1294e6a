import Courier
import CourierTesting
import Testing

struct GamePage: GetHandler, PostHandler {
    func get(_ request: Request, _ response: inout Response) async throws {
        response.write("game \(request.parameters["key"] ?? "?")")
    }

    func post(_ request: Request, _ response: inout Response) async throws {
        response.status = .created
        response.write("moved in \(request.parameters["key"] ?? "?")")
    }
}

struct DeleteOnlyPage: DeleteHandler {
    func delete(_ request: Request, _ response: inout Response) async throws {
        response.status = .noContent
    }
}

@Suite struct RouterTests {
    @Test(arguments: bothModes)
    func firstMatchingRouteWins(mode: TestMode) async throws {
        let app = Application()
        app.get("/items/<id>") { request, response in response.write("item \(request.parameters["id"] ?? "")") }
        app.get("/items/new") { _, response in response.write("new item form") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/items/new").text == "item new")
            #expect(try await client.get("/items/42").text == "item 42")
        }
    }

    @Test(arguments: bothModes)
    func aMatchingRouteWithoutTheMethodFallsThroughToALaterOne(mode: TestMode) async throws {
        let app = Application()
        app.post("/inbox") { _, response in response.write("posted") }
        app.get("/<page>") { request, response in response.write("page \(request.parameters["page"] ?? "")") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/inbox").text == "page inbox")
            #expect(try await client.post("/inbox").text == "posted")
        }
    }

    @Test(arguments: bothModes)
    func templatesCaptureNamedSegments(mode: TestMode) async throws {
        let app = Application()
        app.get("/users/<user>/posts/<post>") { request, response in
            response.write("\(request.parameters["user"] ?? "")/\(request.parameters["post"] ?? "")")
        }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/users/ada/posts/7").text == "ada/7")
            // <name> is one segment: it never swallows a slash.
            #expect(try await client.get("/users/ada/x/posts/7").status == 404)
            #expect(try await client.get("/users//posts/7").status == 404)
        }
    }

    @Test(arguments: bothModes)
    func regexTemplatesMatchTheWholePath(mode: TestMode) async throws {
        let app = Application()
        app.get("/game/<key:[a-z]+>") { request, response in response.write("game \(request.parameters["key"] ?? "")") }
        app.get("/v/<version:1|2>") { request, response in response.write("v\(request.parameters["version"] ?? "")") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/game/abc").text == "game abc")
            #expect(try await client.get("/game/abc1").status == 404)
            #expect(try await client.get("/game/1abc").status == 404)
            #expect(try await client.get("/x/game/abc").status == 404)
            #expect(try await client.get("/game/abc/").status == 404)
            #expect(try await client.get("/v/2").text == "v2")
            // An alternation in the parameter stays inside it: neither "^1" nor "2$" alone matches.
            #expect(try await client.get("/v/12").status == 404)
            #expect(try await client.get("/v/1x").status == 404)
        }
    }

    @Test(arguments: bothModes)
    func literalTextInTemplatesIsNotARegex(mode: TestMode) async throws {
        let app = Application()
        app.get("/file.txt") { _, response in response.write("the file") }
        app.get("/a+b/<name>") { request, response in response.write(request.parameters["name"] ?? "") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/file.txt").text == "the file")
            #expect(try await client.get("/fileXtxt").status == 404)
            #expect(try await client.get("/a+b/x").text == "x")
            #expect(try await client.get("/aab/x").status == 404)
        }
    }

    @Test(arguments: bothModes)
    func parametersArePercentDecoded(mode: TestMode) async throws {
        let app = Application()
        app.get("/hello/<name>") { request, response in response.write("Hello, \(request.parameters["name"] ?? "")!") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/hello/J%C3%BCrgen%20Klopp").text == "Hello, Jürgen Klopp!")
            // In a path, + is a plus, not a space.
            #expect(try await client.get("/hello/a+b").text == "Hello, a+b!")
        }
    }

    @Test(arguments: bothModes)
    func handlerTypesAnswerTheirVerbs(mode: TestMode) async throws {
        let app = Application()
        app.route("/game/<key:[a-z0-9]+>", GamePage())
        try await app.test(mode) { client throws in
            let got = try await client.get("/game/g1")
            #expect(got.status == 200)
            #expect(got.text == "game g1")
            let posted = try await client.post("/game/g1")
            #expect(posted.status == 201)
            #expect(posted.text == "moved in g1")
        }
    }

    @Test(arguments: bothModes)
    func aMissingVerbIs405WithAllow(mode: TestMode) async throws {
        let app = Application()
        app.route("/game/<key>", GamePage())
        app.route("/trash/<key>", DeleteOnlyPage())
        try await app.test(mode) { client throws in
            let put = try await client.execute(.put, "/game/g1", body: Array("x".utf8))
            #expect(put.status == 405)
            #expect(put.tokens("Allow") == ["GET", "HEAD", "POST"])
            let get = try await client.get("/trash/t1")
            #expect(get.status == 405)
            // No GET, so no HEAD either.
            #expect(get.tokens("Allow") == ["DELETE"])
            #expect(try await client.execute(.delete, "/trash/t1").status == 204)
        }
    }

    @Test(arguments: bothModes)
    func allowListsTheVerbsOfEveryMatchingRoute(mode: TestMode) async throws {
        let app = Application()
        app.post("/things/<id>") { _, _ in }
        app.put("/things/<id:[0-9]+>") { _, _ in }
        try await app.test(mode) { client throws in
            let response = try await client.execute(.delete, "/things/12")
            #expect(response.status == 405)
            #expect(response.tokens("Allow") == ["POST", "PUT"])
        }
    }

    @Test(arguments: bothModes)
    func unknownPathsAre404(mode: TestMode) async throws {
        let app = Application()
        app.get("/") { _, response in response.write("home") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/").text == "home")
            let missing = try await client.get("/nowhere")
            #expect(missing.status == 404)
            #expect(missing.headers["Allow"] == nil)
            #expect(try await client.post("/nowhere").status == 404)
        }
    }

    @Test(arguments: bothModes)
    func closureRoutesForEachVerb(mode: TestMode) async throws {
        let app = Application()
        app.get("/thing") { request, response in response.write("\(request.method) read") }
        app.post("/thing") { request, response in response.write("\(request.method) \(request.bodyText)") }
        app.put("/thing") { request, response in response.write("\(request.method) \(request.bodyText)") }
        app.patch("/thing") { request, response in response.write("\(request.method) \(request.bodyText)") }
        app.delete("/thing") { request, response in response.write("\(request.method) gone") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/thing").text == "GET read")
            #expect(try await client.execute(.post, "/thing", body: Array("a".utf8)).text == "POST a")
            #expect(try await client.execute(.put, "/thing", body: Array("b".utf8)).text == "PUT b")
            #expect(try await client.execute(.patch, "/thing", body: Array("c".utf8)).text == "PATCH c")
            #expect(try await client.execute(.delete, "/thing").text == "DELETE gone")
        }
    }

    @Test(arguments: bothModes)
    func asyncClosureRoutes(mode: TestMode) async throws {
        let app = Application()
        app.get("/later") { (_: Request, response: inout Response) async throws in
            try await Task.sleep(for: .milliseconds(5))
            response.write("done later")
        }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/later").text == "done later")
        }
    }

    @Test(arguments: bothModes)
    func headIsServedByGetWithoutABody(mode: TestMode) async throws {
        let app = Application()
        app.get("/page") { _, response in
            response.headers.set("X-Page", "yes")
            response.write("0123456789")
        }
        app.route("/typed/<key>", GamePage())
        try await app.test(mode) { client throws in
            let head = try await client.head("/page")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers["X-Page"] == "yes")
            if mode == .live { #expect(head.headers["Content-Length"] == "10") }
            // Had HEAD sent a body, it would be read as the start of this response.
            #expect(try await client.get("/page").text == "0123456789")
            let typed = try await client.head("/typed/k")
            #expect(typed.status == 200)
            #expect(typed.body.isEmpty)
        }
    }
}

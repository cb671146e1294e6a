import Courier
import CourierTesting
import Testing

/// A filter that also writes a `handle`: the server would run only `filter`, so `app.use`
/// refuses it rather than skip the `handle` without a word.
struct FilterWithHandle: RequestFilter, Middleware {
    func filter(_ request: inout Request) throws {}
    func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        response.headers.set("X-Handled", "yes")
        try await next(request, &response)
    }
}

/// Rewrites `/old/...` to `/new/...`, as a legacy-URL filter would.
struct RewriteOldPaths: RequestFilter {
    func filter(_ request: inout Request) throws {
        if request.path.hasPrefix("/old/") { request.path = "/new/" + request.path.dropFirst("/old/".count) }
    }
}

/// Turns a POST with `_method=DELETE` into a DELETE, as form-based apps do.
struct MethodOverride: RequestFilter {
    func filter(_ request: inout Request) throws {
        if request.method == .post, request.headers["X-HTTP-Method-Override"] == "DELETE" { request.method = .delete }
    }
}

@Suite struct DispatchPathTests {
    @Test func aTypeThatIsBothAFilterAndAMiddlewareIsRefusedNamingIt() {
        let app = Application()
        app.use(FilterWithHandle() as any RequestFilter)
        let error = #expect(throws: ApplicationError.self) { _ = try app.responder() }
        #expect(error?.description.contains("FilterWithHandle") == true)
        #expect(error?.description.contains("both a RequestFilter and a Middleware") == true)
    }

    @Test(arguments: bothModes)
    func aFilterThatChangesThePathIsRoutedByTheNewPathWithItsParameters(mode: TestMode) async throws {
        let app = Application()
        app.use(RewriteOldPaths())
        app.get("/new/<name>") { request, response in response.write("new \(request.parameters["name"] ?? "?") at \(request.path)") }
        app.get("/old/<name>") { _, response in response.write("the old route must not answer") }
        try await app.test(mode) { client throws in
            #expect(try await client.get("/old/ada").text == "new ada at /new/ada")
            #expect(try await client.get("/new/grace").text == "new grace at /new/grace")
        }
    }

    @Test(arguments: bothModes)
    func aFilterThatChangesTheMethodIsRoutedByTheNewMethod(mode: TestMode) async throws {
        let app = Application()
        app.use(MethodOverride())
        app.delete("/items/<id>") { request, response in response.write("deleted \(request.parameters["id"] ?? "?")") }
        try await app.test(mode) { client throws in
            let overridden = try await client.execute(.post, "/items/7", headers: ["X-HTTP-Method-Override": "DELETE"])
            #expect(overridden.text == "deleted 7")
            let plain = try await client.execute(.post, "/items/7")
            #expect(plain.status == 405)
            #expect(plain.headers["Allow"] == "DELETE")
        }
    }

    /// The in-process client takes the server's path: the same default Content-Type, the same
    /// refusal of a header that would split the response, the same 405 and 501.
    @Test(arguments: bothModes)
    func inProcessAndLiveAnswersAgree(mode: TestMode) async throws {
        let app = Application()
        app.get("/text") { _, response in response.write("hello") }
        app.get("/split") { request, response in response.headers.set("Location", "/x\r\nSet-Cookie: stolen=1") }
        app.get("/async") { (_: Request, response: inout Response) async throws in response.write("later") }
        try await app.test(mode) { client throws in
            let text = try await client.get("/text")
            #expect(text.headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(try await client.get("/split").status == 500)
            #expect(try await client.get("/async").headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(try await client.execute(.put, "/text").status == 405)
            #expect(try await client.execute("BREW", "/text").status == 501)
        }
    }
}

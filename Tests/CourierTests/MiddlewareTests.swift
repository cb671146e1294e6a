import Courier
import CourierTesting
import Foundation
import Testing

/// Records its name on the way in (a request header the handler echoes) and on the way out
/// (a response header), so a test sees the order of the chain.
struct Tracer: Middleware {
    let name: String

    func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        var request = request
        request.headers.set("X-Way-In", [request.headers["X-Way-In"], name].compactMap { $0 }.joined(separator: ","))
        try await next(request, &response)
        response.headers.set("X-Way-Out", [response.headers["X-Way-Out"], name].compactMap { $0 }.joined(separator: ","))
    }
}

/// Answers by itself unless the request carries a token.
struct RequireToken: Middleware {
    func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        guard request.headers["Authorization"] == "Bearer letmein" else {
            response.status = .unauthorized
            response.contentType = "text/plain"
            response.write("sign in first")
            return
        }
        try await next(request, &response)
    }
}

/// A middleware that brings its own route, as the channel middleware does.
struct Health: Middleware {
    func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        try await next(request, &response)
        response.headers.set("X-Health-Checked", "yes")
    }

    func mount(on app: Application) throws {
        app.get("/_health") { _, response in response.write("ok") }
    }
}

struct CallsNextTwice: Middleware {
    func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        try await next(request, &response)
        try await next(request, &response)
    }
}

struct FailsToMount: Middleware {
    func handle(_ request: Request, _ response: inout Response, next: Next) async throws {
        try await next(request, &response)
    }

    func mount(on app: Application) throws { throw LeakyError() }
}

struct CurrentUser: RequestStorageKey {
    typealias Value = String
}

/// Sets the user from a header, and refuses the banned one.
struct UserFromHeader: RequestFilter {
    func filter(_ request: inout Request) throws {
        guard let name = request.headers["X-User"] else { return }
        if name == "mallory" { throw HTTPError(.forbidden, "Not you") }
        request.storage[CurrentUser.self] = name
    }
}

/// Whether the handler ran inside a Task: a synchronous route behind only filters runs inline.
private func runsInATask() -> Bool { withUnsafeCurrentTask { $0 != nil } }

@Suite struct MiddlewareTests {
    @Test(arguments: bothModes)
    func middlewareSeesTheRequestBeforeAndTheResponseAfter(mode: TestMode) async throws {
        let app = Application()
        app.use(MiddlewareFunction { request, response, next in
            var request = request
            request.storage[CurrentUser.self] = "ada"
            try await next(request, &response)
            response.headers.set("X-Served-To", request.storage[CurrentUser.self] ?? "nobody")
            response.write(" (checked)")
        })
        app.get("/me") { request, response in response.write("user \(request.storage[CurrentUser.self] ?? "none")") }
        try await app.test(mode) { client throws in
            let response = try await client.get("/me")
            #expect(response.text == "user ada (checked)")
            #expect(response.headers["X-Served-To"] == "ada")
        }
    }

    @Test(arguments: bothModes)
    func filtersChangeTheRequestOrRefuseItForSyncAndAsyncRoutes(mode: TestMode) async throws {
        let app = Application()
        app.use(UserFromHeader())
        app.get("/sync") { request, response in
            response.write("sync \(request.storage[CurrentUser.self] ?? "none") task=\(runsInATask())")
        }
        app.get("/async") { (request: Request, response: inout Response) async throws in
            try await Task.sleep(for: .milliseconds(1))
            response.write("async \(request.storage[CurrentUser.self] ?? "none")")
        }
        try await app.test(mode) { client throws in
            let sync = try await client.get("/sync", headers: ["X-User": "ada"])
            // Live, the loop calls it inline; in process, the test's own task calls the chain.
            #expect(sync.text == "sync ada task=\(mode == .inProcess)")
            #expect(try await client.get("/async", headers: ["X-User": "grace"]).text == "async grace")
            #expect(try await client.get("/sync").text == "sync none task=\(mode == .inProcess)")
            for path in ["/sync", "/async", "/nowhere"] {
                let refused = try await client.get(path, headers: ["X-User": "mallory"])
                #expect(refused.status == 403)
                #expect(refused.text.contains("Not you"))
            }
            #expect(try await client.get("/nowhere", headers: ["X-User": "ada"]).status == 404)
        }
    }

    @Test(arguments: bothModes)
    func filtersMixWithOtherMiddlewareInOrder(mode: TestMode) async throws {
        let app = Application()
        app.use(Tracer(name: "outer"), UserFromHeader(), Tracer(name: "inner"))
        app.get("/who") { request, response in
            response.write("\(request.storage[CurrentUser.self] ?? "none") via \(request.headers["X-Way-In"] ?? "") task=\(runsInATask())")
        }
        try await app.test(mode) { client throws in
            let response = try await client.get("/who", headers: ["X-User": "ada"])
            #expect(response.text == "ada via outer,inner task=true")
            #expect(response.headers["X-Way-Out"] == "inner,outer")
            let refused = try await client.get("/who", headers: ["X-User": "mallory"])
            #expect(refused.status == 403)
            #expect(refused.headers["X-Way-Out"] == nil)
        }
    }

    @Test(arguments: bothModes)
    func middlewareSeesErrorsAnd404sAsResponses(mode: TestMode) async throws {
        let app = Application()
        app.use(MiddlewareFunction { request, response, next in
            try await next(request, &response)
            response.headers.set("X-Seen-Status", "\(response.status.code)")
        })
        app.get("/fails") { _, _ in throw LeakyError() }
        app.get("/gone") { _, _ in throw HTTPError(.gone, "It left") }
        app.post("/post-only") { _, _ in }
        try await app.test(mode) { client throws in
            let failed = try await client.get("/fails")
            #expect(failed.status == 500)
            #expect(failed.headers["X-Seen-Status"] == "500")
            #expect(!failed.text.contains("hunter2"))
            #expect(try await client.get("/gone").headers["X-Seen-Status"] == "410")
            #expect(try await client.get("/nowhere").headers["X-Seen-Status"] == "404")
            let wrongVerb = try await client.get("/post-only")
            #expect(wrongVerb.headers["X-Seen-Status"] == "405")
            #expect(wrongVerb.headers["Allow"] == "POST")
        }
    }

    @Test(arguments: bothModes)
    func middlewareCanAnswerWithoutCallingNext(mode: TestMode) async throws {
        let app = Application()
        app.use(RequireToken())
        app.get("/secret") { _, response in response.write("the plans") }
        try await app.test(mode) { client throws in
            let refused = try await client.get("/secret")
            #expect(refused.status == 401)
            #expect(refused.text == "sign in first")
            // Even a path with no route is answered by the middleware first.
            #expect(try await client.get("/nowhere").status == 401)
            let allowed = try await client.get("/secret", headers: ["Authorization": "Bearer letmein"])
            #expect(allowed.status == 200)
            #expect(allowed.text == "the plans")
        }
    }

    @Test(arguments: bothModes)
    func outermostMiddlewareRunsFirstAndFinishesLast(mode: TestMode) async throws {
        let app = Application()
        app.use(Tracer(name: "outer"), Tracer(name: "middle"))
        app.use(Tracer(name: "inner"))
        app.get("/trace") { request, response in response.write(request.headers["X-Way-In"] ?? "") }
        try await app.test(mode) { client throws in
            let response = try await client.get("/trace")
            #expect(response.text == "outer,middle,inner")
            #expect(response.headers["X-Way-Out"] == "inner,middle,outer")
        }
    }

    @Test(arguments: bothModes)
    func middlewareMountsItsOwnRoutes(mode: TestMode) async throws {
        let app = Application()
        app.use(Health())
        // Routes a middleware mounts are not the app's: a later `use` is still allowed.
        app.use(Tracer(name: "after-health"))
        app.get("/") { _, response in response.write("home") }
        try await app.test(mode) { client throws in
            let health = try await client.get("/_health")
            #expect(health.text == "ok")
            // Mounted routes go through the whole chain like any other.
            #expect(health.headers["X-Health-Checked"] == "yes")
            #expect(health.headers["X-Way-Out"] == "after-health")
            #expect(try await client.get("/").text == "home")
        }
    }

    @Test(arguments: bothModes)
    func callingNextTwiceIsA500(mode: TestMode) async throws {
        let app = Application()
        app.use(CallsNextTwice())
        app.get("/twice") { _, response in response.write("handled") }
        try await app.test(mode) { client throws in
            let response = try await client.get("/twice")
            #expect(response.status == 500)
            #expect(!response.text.contains("handled"))
            #expect(!response.text.contains("next"))
            // The next request is fresh: its own `next` may be called once.
            #expect(try await client.get("/twice").status == 500)
        }
    }

    @Test(arguments: bothModes)
    func httpErrorsThrownByMiddlewareAnswer(mode: TestMode) async throws {
        let app = Application()
        app.use(MiddlewareFunction { request, response, next in
            if request.path.hasPrefix("/admin") { throw HTTPError(.forbidden, "Admins only") }
            try await next(request, &response)
        })
        app.get("/admin/panel") { _, response in response.write("panel") }
        app.get("/public") { _, response in response.write("public") }
        try await app.test(mode) { client throws in
            let refused = try await client.get("/admin/panel")
            #expect(refused.status == 403)
            #expect(refused.text.trimmingCharacters(in: .whitespacesAndNewlines) == "Admins only")
            #expect(try await client.get("/public").text == "public")
        }
    }

    @Test func aMountThatThrowsIsABuildErrorNamingTheMiddleware() {
        let app = Application()
        app.use(FailsToMount())
        let error = #expect(throws: ApplicationError.self) { _ = try app.responder() }
        #expect(error?.description.contains("FailsToMount") == true)
    }
}

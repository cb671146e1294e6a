import Courier
import CourierTesting
import Foundation
import Testing

/// A served directory `public/` next to a file outside it that must never be reachable.
private struct Site {
    let base: URL
    var publicPath: String { base.appendingPathComponent("public").path }

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("courier-static-\(UUID().uuidString)")
        let files = FileManager.default
        try files.createDirectory(at: base.appendingPathComponent("public/css/empty"), withIntermediateDirectories: true)
        try write("public/index.html", "<h1>Hello</h1>")
        try write("public/css/site.css", "body { color: red }")
        try write("public/README", "no extension")
        try write("secret.txt", "top secret")
        try files.createSymbolicLink(atPath: base.appendingPathComponent("public/escape.txt").path,
                                     withDestinationPath: base.appendingPathComponent("secret.txt").path)
        try files.createSymbolicLink(atPath: base.appendingPathComponent("public/up").path, withDestinationPath: "..")
        try files.createSymbolicLink(atPath: base.appendingPathComponent("public/home.html").path, withDestinationPath: "index.html")
    }

    func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: base.appendingPathComponent(path))
    }

    func remove() { try? FileManager.default.removeItem(at: base) }

    func app(prefix: String = "/static", maxFileBytes: Int = 16 << 20) -> Application {
        let app = Application()
        app.serveFiles(at: prefix, from: publicPath, maxFileBytes: maxFileBytes)
        return app
    }
}

@Suite struct StaticFilesTests {
    @Test(arguments: bothModes)
    func servesFilesWithTypeETagAndCacheControl(mode: TestMode) async throws {
        let site = try Site()
        defer { site.remove() }
        try await site.app().test(mode) { client throws in
            let page = try await client.get("/static/index.html")
            #expect(page.status == 200)
            #expect(page.text == "<h1>Hello</h1>")
            #expect(page.headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(page.headers["Cache-Control"] == "no-cache")
            let etag = try #require(page.headers["ETag"])
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count > 2, "a strong ETag: \(etag)")
            let css = try await client.get("/static/css/site.css")
            #expect(css.text == "body { color: red }")
            #expect(css.headers["Content-Type"] == "text/css; charset=utf-8")
            #expect(try await client.get("/static/README").headers["Content-Type"] == "application/octet-stream")
        }
    }

    @Test(arguments: [
        ("a.html", "text/html; charset=utf-8"), ("a.css", "text/css; charset=utf-8"),
        ("a.js", "text/javascript; charset=utf-8"), ("a.json", "application/json"), ("a.png", "image/png"),
        ("a.jpg", "image/jpeg"), ("a.JPG", "image/jpeg"), ("a.svg", "image/svg+xml"),
        ("a.txt", "text/plain; charset=utf-8"), ("a.ico", "image/x-icon"), ("a.wasm", "application/wasm"),
        ("a.woff2", "font/woff2"), ("a.tar.gz", "application/octet-stream"), (".hidden", "application/octet-stream"),
    ])
    func contentTypeComesFromTheExtension(name: String, type: String) async throws {
        let site = try Site()
        defer { site.remove() }
        try site.write("public/\(name)", "x")
        try await site.app().test(.inProcess) { client throws in
            let response = try await client.get("/static/\(name)")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == type)
        }
    }

    @Test(arguments: bothModes)
    func ifNoneMatchGets304(mode: TestMode) async throws {
        let site = try Site()
        defer { site.remove() }
        try await site.app().test(mode) { client throws in
            let etag = try #require(try await client.get("/static/index.html").headers["ETag"])
            for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let again = try await client.get("/static/index.html", headers: ["If-None-Match": header])
                #expect(again.status == 304, "If-None-Match: \(header)")
                #expect(again.body.isEmpty)
                #expect(again.headers["ETag"] == etag)
                #expect(again.headers["Cache-Control"] == "no-cache")
            }
            let stale = try await client.get("/static/index.html", headers: ["If-None-Match": "\"stale\""])
            #expect(stale.status == 200)
            #expect(stale.text == "<h1>Hello</h1>")
        }
    }

    @Test(arguments: bothModes)
    func theETagChangesWithTheFile(mode: TestMode) async throws {
        let site = try Site()
        defer { site.remove() }
        try await site.app().test(mode) { client throws in
            let before = try #require(try await client.get("/static/index.html").headers["ETag"])
            try site.write("public/index.html", "<h1>Hello again</h1>")
            let after = try await client.get("/static/index.html", headers: ["If-None-Match": before])
            #expect(after.status == 200)
            #expect(after.text == "<h1>Hello again</h1>")
            #expect(after.headers["ETag"] != before)
        }
    }

    @Test(arguments: bothModes)
    func headAnswersWithoutTheBody(mode: TestMode) async throws {
        let site = try Site()
        defer { site.remove() }
        try await site.app().test(mode) { client throws in
            let head = try await client.head("/static/index.html")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.headers["ETag"] != nil)
            if mode == .live { #expect(head.headers["Content-Length"] == "14") }
            #expect(try await client.get("/static/index.html").text == "<h1>Hello</h1>")
        }
    }

    @Test(arguments: bothModes)
    func unreachablePathsAre404(mode: TestMode) async throws {
        let site = try Site()
        defer { site.remove() }
        try await site.app().test(mode) { client throws in
            for path in [
                "/static/missing.html", "/static/css", "/static/css/", "/static/css/empty", "/static/",
                "/static/../secret.txt", "/static/css/../../secret.txt", "/static/%2e%2e/secret.txt",
                "/static/css/..%2F..%2Fsecret.txt", "/static/css/../index.html",
                "/static/index.html%00.png", "/static/escape.txt", "/static/up/secret.txt",
            ] {
                let response = try await client.get(path)
                #expect(response.status == 404, "\(path)")
                #expect(!response.text.contains("top secret"), "\(path)")
            }
        }
    }

    @Test(arguments: bothModes)
    func symlinksInsideTheDirectoryAreServed(mode: TestMode) async throws {
        let site = try Site()
        defer { site.remove() }
        try await site.app().test(mode) { client throws in
            let response = try await client.get("/static/home.html")
            #expect(response.status == 200)
            #expect(response.text == "<h1>Hello</h1>")
        }
    }

    @Test(arguments: bothModes)
    func filesOverTheLimitAre500WithoutDetails(mode: TestMode) async throws {
        let site = try Site()
        defer { site.remove() }
        try await site.app(maxFileBytes: 14).test(mode) { client throws in
            #expect(try await client.get("/static/index.html").status == 200)
            let big = try await client.get("/static/css/site.css")
            #expect(big.status == 500)
            #expect(!big.text.contains("site.css"))
            #expect(!big.text.contains("red"))
        }
    }

    @Test(arguments: bothModes)
    func aPrefixWithATrailingSlashOrTheRootWorks(mode: TestMode) async throws {
        let site = try Site()
        defer { site.remove() }
        try await site.app(prefix: "/assets/").test(mode) { client throws in
            #expect(try await client.get("/assets/index.html").status == 200)
        }
        try await site.app(prefix: "/").test(mode) { client throws in
            #expect(try await client.get("/css/site.css").text == "body { color: red }")
            #expect(try await client.get("/../secret.txt").status == 404)
        }
    }

    @Test func aMissingDirectoryIsABuildError() throws {
        let app = Application()
        app.serveFiles(at: "/static", from: "/nonexistent/courier-\(UUID().uuidString)")
        let error = #expect(throws: ApplicationError.self) { _ = try app.responder() }
        #expect(error?.description.contains("/static") == true)
        #expect(error?.description.contains("/nonexistent/courier-") == true)
    }

    @Test func aFileIsNotADirectory() throws {
        let site = try Site()
        defer { site.remove() }
        let app = Application()
        app.serveFiles(at: "/static", from: site.base.appendingPathComponent("secret.txt").path)
        let error = #expect(throws: ApplicationError.self) { _ = try app.responder() }
        #expect(error?.description.contains("not a directory") == true)
    }
}

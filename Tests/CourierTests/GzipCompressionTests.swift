import Courier
import CourierTesting
import Foundation
import Testing

/// `GzipCompression`: dynamic text responses compressed when the client takes gzip.
@Suite struct GzipCompressionTests {
    static let page = "<p>" + String(repeating: "Courier serves this page. ", count: 100) + "</p>"

    private func app(compressing: Bool = true) -> Application {
        let app = Application()
        if compressing { app.use(GzipCompression(minimumBytes: 1024)) }
        app.get("/page") { _, response in response.write(Self.page) }
        app.get("/json") { _, response in try response.json(Array(repeating: "value", count: 400)) }
        app.get("/small") { _, response in response.write("<p>short</p>") }
        app.get("/image") { _, response in
            response.contentType = "image/png"
            response.write([UInt8](repeating: 7, count: 4096))
        }
        app.get("/encoded") { _, response in
            response.headers.set("Content-Encoding", "br")
            response.contentType = "text/plain"
            response.write(Self.page)
        }
        app.get("/no-transform") { _, response in
            response.headers.set("Cache-Control", "private, no-transform")
            response.write(Self.page)
        }
        app.get("/tagged") { _, response in
            response.headers.set("ETag", "\"v1\"")
            response.headers.set("Vary", "Cookie")
            response.write(Self.page)
        }
        app.get("/missing") { _, _ in throw HTTPError(.notFound, String(repeating: "not here ", count: 200)) }
        return app
    }

    @Test(arguments: bothModes)
    func textIsCompressedWhenTheClientTakesGzip(mode: TestMode) async throws {
        try await app().test(mode) { client throws in
            for (path, original) in [("/page", Array(Self.page.utf8)), ("/json", try JSONEncoder().encode(Array(repeating: "value", count: 400)).map { $0 })] {
                let response = try await client.get(path, headers: ["Accept-Encoding": "gzip, deflate, br"])
                #expect(response.status == 200)
                #expect(response.headers["Content-Encoding"] == "gzip", "\(path)")
                #expect(response.headers["Vary"] == "Accept-Encoding")
                #expect(response.body.count < original.count / 4, "\(path): \(response.body.count) bytes")
                #expect(Gzip.decompress(response.body, limit: 1 << 20) == original, "\(path)")
                if mode == .live { #expect(response.headers["Content-Length"] == "\(response.body.count)") }
            }
            let tagged = try await client.get("/tagged", headers: ["Accept-Encoding": "gzip"])
            #expect(tagged.headers["ETag"] == "W/\"v1\"", "the bytes differ from the identity answer's")
            #expect(tagged.headers["Vary"] == "Cookie, Accept-Encoding")
        }
    }

    @Test(arguments: bothModes)
    func notCompressedWhenRefusedSmallOrNotText(mode: TestMode) async throws {
        try await app().test(mode) { client throws in
            for accept in [nil, "identity", "gzip;q=0", "br", "*;q=0", "gzip;q=0.000, *"] as [String?] {
                var headers = HTTPHeaders()
                if let accept { headers.set("Accept-Encoding", accept) }
                let response = try await client.get("/page", headers: headers)
                #expect(response.headers["Content-Encoding"] == nil, "\(accept ?? "no Accept-Encoding")")
                #expect(response.text == Self.page)
                #expect(response.headers["Vary"] == "Accept-Encoding", "a cache must keep both answers apart")
            }
            let accepting: HTTPHeaders = ["Accept-Encoding": "gzip"]
            let small = try await client.get("/small", headers: accepting)
            #expect(small.headers["Content-Encoding"] == nil)
            #expect(small.headers["Vary"] == nil)
            #expect(try await client.get("/image", headers: accepting).headers["Content-Encoding"] == nil)
            let encoded = try await client.get("/encoded", headers: accepting)
            #expect(encoded.headers["Content-Encoding"] == "br")
            #expect(encoded.text == Self.page, "never compressed twice")
            #expect(try await client.get("/no-transform", headers: accepting).headers["Content-Encoding"] == nil)
            #expect(try await client.get("/missing", headers: accepting).headers["Content-Encoding"] == nil, "errors are left alone")
        }
    }

    @Test(arguments: bothModes)
    func offUnlessAdded(mode: TestMode) async throws {
        try await app(compressing: false).test(mode) { client throws in
            let response = try await client.get("/page", headers: ["Accept-Encoding": "gzip"])
            #expect(response.headers["Content-Encoding"] == nil)
            #expect(response.text == Self.page)
        }
    }

    @Test func headHasTheCompressedLength() async throws {
        try await app().test(.live) { client throws in
            let get = try await client.get("/page", headers: ["Accept-Encoding": "gzip"])
            let head = try await client.head("/page", headers: ["Accept-Encoding": "gzip"])
            #expect(head.headers["Content-Encoding"] == "gzip")
            #expect(head.headers["Content-Length"] == "\(get.body.count)")
            #expect(head.body.isEmpty)
        }
    }

    @Test(arguments: bothModes)
    func staticFilesAreCompressedButNotTheirRanges(mode: TestMode) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(Self.page.utf8).write(to: directory.appendingPathComponent("page.html"))
        let app = Application()
        app.use(GzipCompression())
        app.serveFiles(at: "/static", from: directory.path)
        try await app.test(mode) { client throws in
            let whole = try await client.get("/static/page.html", headers: ["Accept-Encoding": "gzip"])
            #expect(whole.headers["Content-Encoding"] == "gzip")
            #expect(whole.headers["Accept-Ranges"] == nil, "ranges of gzip output are not offered")
            #expect(Gzip.decompress(whole.body, limit: 1 << 20) == Array(Self.page.utf8))
            let part = try await client.get("/static/page.html", headers: ["Accept-Encoding": "gzip", "Range": "bytes=3-9"])
            #expect(part.status == 206)
            #expect(part.headers["Content-Encoding"] == nil)
            #expect(part.text == "Courier")
        }
    }
}

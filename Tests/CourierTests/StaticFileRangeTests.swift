import Courier
import CourierTesting
import Foundation
import Testing

/// A served directory with a 1,000-byte file whose every byte says where it is, text assets
/// with precompressed siblings, and a secret outside.
private struct Assets {
    let base: URL
    var publicPath: String { base.appendingPathComponent("public").path }
    static let numbers: [UInt8] = (0..<1000).map { UInt8($0 % 251) }
    static let script = String(repeating: "console.log('courier');\n", count: 100)

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("courier-ranges-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base.appendingPathComponent("public"), withIntermediateDirectories: true)
        try write("public/numbers.bin", Self.numbers)
        try write("public/app.js", Array(Self.script.utf8))
        try write("public/app.js.gz", Gzip.compress(Array(Self.script.utf8)))
        try write("public/app.js.br", Array("pretend-brotli".utf8))
        try write("public/style.css", Array("body{}".utf8))
        try write("public/style.css.gz", Gzip.compress(Array("body{}".utf8)))
        try write("public/leak.txt", Array("public text".utf8))
        try write("secret.txt.gz", Gzip.compress(Array("top secret".utf8)))
        try FileManager.default.createSymbolicLink(atPath: base.appendingPathComponent("public/leak.txt.gz").path,
                                                   withDestinationPath: base.appendingPathComponent("secret.txt.gz").path)
    }

    func write(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: base.appendingPathComponent(path))
    }

    func remove() { try? FileManager.default.removeItem(at: base) }

    func app(cacheControl: String = "no-cache", precompressed: Bool = false) -> Application {
        let app = Application()
        app.serveFiles(at: "/static", from: publicPath, cacheControl: cacheControl, precompressed: precompressed)
        return app
    }

    /// The file's modification time, as Last-Modified must show it.
    func modified(_ path: String) throws -> String {
        let date = try #require(try FileManager.default.attributesOfItem(atPath: base.appendingPathComponent(path).path)[.modificationDate] as? Date)
        return HTTPDate.format(secondsSince1970: Int(date.timeIntervalSince1970.rounded(.down)))
    }
}

@Suite struct StaticFileRangeTests {
    @Test(arguments: bothModes)
    func aRangeGets206WithContentRange(mode: TestMode) async throws {
        let assets = try Assets()
        defer { assets.remove() }
        try await assets.app().test(mode) { client throws in
            let whole = try await client.get("/static/numbers.bin")
            #expect(whole.status == 200)
            #expect(whole.headers["Accept-Ranges"] == "bytes")
            #expect(whole.body == Assets.numbers)
            for (header, range) in [("bytes=0-99", 0..<100), ("bytes=900-", 900..<1000), ("bytes=-10", 990..<1000),
                                    ("bytes=10-19, 15-29", 10..<30), ("bytes=995-99999999999999999999", 995..<1000)] {
                let part = try await client.get("/static/numbers.bin", headers: ["Range": header])
                #expect(part.status == 206, "\(header)")
                #expect(part.headers["Content-Range"] == "bytes \(range.lowerBound)-\(range.upperBound - 1)/1000", "\(header)")
                #expect(part.body == Array(Assets.numbers[range]), "\(header)")
                #expect(part.headers["Content-Type"] == "application/octet-stream")
                #expect(part.headers["ETag"] == whole.headers["ETag"])
                if mode == .live { #expect(part.headers["Content-Length"] == "\(range.count)") }
            }
        }
    }

    @Test(arguments: bothModes)
    func unsatisfiableRangesGet416AndBadOnesTheWholeFile(mode: TestMode) async throws {
        let assets = try Assets()
        defer { assets.remove() }
        try await assets.app().test(mode) { client throws in
            for header in ["bytes=1000-", "bytes=5000-6000, 7000-", "bytes=99999999999999999999-", "bytes=-0",
                           "bytes=184467440737095516160-184467440737095516161"] {
                let refused = try await client.get("/static/numbers.bin", headers: ["Range": header])
                #expect(refused.status == 416, "\(header)")
                #expect(refused.headers["Content-Range"] == "bytes */1000", "\(header)")
                #expect(refused.body.isEmpty)
            }
            // Disjoint ranges, too many ranges, other units and nonsense: the whole file, once.
            let many = "bytes=" + (0..<500).map { "\($0)-\($0)" }.joined(separator: ",")
            let overlapping = "bytes=" + Array(repeating: "0-999", count: 60).joined(separator: ",")
            for header in ["bytes=0-0,2-2", many, "items=0-1", "bytes=5-3", "bytes=abc", "bytes=-", "bytes=0x1-0x2", overlapping] {
                let response = try await client.get("/static/numbers.bin", headers: ["Range": header])
                #expect(response.body.count == 1000, "\(header.prefix(40))")
                #expect(response.status == (header == overlapping ? 206 : 200), "\(header.prefix(40))")
            }
            // Two Range fields are ambiguous: ignored.
            let two = try await client.get("/static/numbers.bin", headers: HTTPHeaders([("Range", "bytes=0-1"), ("Range", "bytes=2-3")]))
            #expect(two.status == 200)
        }
    }

    @Test func headWithARangeAnswersItsLength() async throws {
        let assets = try Assets()
        defer { assets.remove() }
        try await assets.app().test(.live) { client throws in
            let head = try await client.head("/static/numbers.bin", headers: ["Range": "bytes=100-199"])
            #expect(head.status == 206)
            #expect(head.headers["Content-Length"] == "100")
            #expect(head.headers["Content-Range"] == "bytes 100-199/1000")
            #expect(head.body.isEmpty)
            #expect(try await client.get("/static/numbers.bin").body == Assets.numbers, "the connection is still in step")
        }
    }

    @Test(arguments: bothModes)
    func ifRangeSendsThePartOnlyForTheSameFile(mode: TestMode) async throws {
        let assets = try Assets()
        defer { assets.remove() }
        try await assets.app().test(mode) { client throws in
            let first = try await client.get("/static/numbers.bin")
            let etag = try #require(first.headers["ETag"])
            let lastModified = try #require(first.headers["Last-Modified"])
            for (ifRange, status) in [(etag, 206), (lastModified, 206), ("\"stale\"", 200), ("W/\(etag)", 200),
                                      ("Thu, 01 Jan 1970 00:00:00 GMT", 200), ("not a date", 200)] {
                let response = try await client.get("/static/numbers.bin", headers: ["Range": "bytes=0-9", "If-Range": ifRange])
                #expect(response.status == status, "If-Range: \(ifRange)")
                #expect(response.body.count == (status == 206 ? 10 : 1000))
            }
        }
    }

    @Test(arguments: bothModes)
    func lastModifiedAndIfModifiedSince(mode: TestMode) async throws {
        let assets = try Assets()
        defer { assets.remove() }
        try await assets.app().test(mode) { client throws in
            let first = try await client.get("/static/numbers.bin")
            let lastModified = try #require(first.headers["Last-Modified"])
            #expect(lastModified == (try assets.modified("public/numbers.bin")))
            let cached = try await client.get("/static/numbers.bin", headers: ["If-Modified-Since": lastModified])
            #expect(cached.status == 304)
            #expect(cached.body.isEmpty)
            #expect(cached.headers["Last-Modified"] == lastModified)
            #expect(try await client.get("/static/numbers.bin", headers: ["If-Modified-Since": "Sun, 06 Nov 2095 08:49:37 GMT"]).status == 304)
            for stale in ["Thu, 01 Jan 1970 00:00:00 GMT", "garbage", "Sun, 06 Nov 99999999999999999999 08:49:37 GMT", ""] {
                let response = try await client.get("/static/numbers.bin", headers: ["If-Modified-Since": stale])
                #expect(response.status == 200, "If-Modified-Since: \(stale)")
                #expect(response.body == Assets.numbers)
            }
            // If-None-Match decides when both are sent (RFC 9110 §13.2.2).
            let both = try await client.get("/static/numbers.bin", headers: ["If-None-Match": "\"stale\"", "If-Modified-Since": lastModified])
            #expect(both.status == 200)
            // A conditional that holds wins over a Range: 304, no part.
            let etag = try #require(first.headers["ETag"])
            #expect(try await client.get("/static/numbers.bin", headers: ["If-None-Match": etag, "Range": "bytes=0-1"]).status == 304)
        }
    }

    @Test(arguments: bothModes)
    func cacheControlIsSetPerMount(mode: TestMode) async throws {
        let assets = try Assets()
        defer { assets.remove() }
        let app = Application()
        app.serveFiles(at: "/static", from: assets.publicPath)
        app.serveFiles(at: "/immutable", from: assets.publicPath, cacheControl: "public, max-age=31536000, immutable")
        try await app.test(mode) { client throws in
            #expect(try await client.get("/static/app.js").headers["Cache-Control"] == "no-cache")
            let long = try await client.get("/immutable/app.js")
            #expect(long.headers["Cache-Control"] == "public, max-age=31536000, immutable")
            let etag = try #require(long.headers["ETag"])
            let notModified = try await client.get("/immutable/app.js", headers: ["If-None-Match": etag])
            #expect(notModified.status == 304)
            #expect(notModified.headers["Cache-Control"] == "public, max-age=31536000, immutable")
        }
    }

    @Test func aCacheControlWithALineBreakIsABuildError() {
        let app = Application()
        app.serveFiles(at: "/static", from: NSTemporaryDirectory(), cacheControl: "no-cache\r\nX-Evil: 1")
        #expect(throws: ApplicationError.self) { _ = try app.responder() }
    }

    @Test(arguments: bothModes)
    func precompressedSiblingsFollowAcceptEncoding(mode: TestMode) async throws {
        let assets = try Assets()
        defer { assets.remove() }
        try await assets.app(precompressed: true).test(mode) { client throws in
            let identity = try await client.get("/static/app.js")
            #expect(identity.headers["Content-Encoding"] == nil)
            #expect(identity.text == Assets.script)
            #expect(identity.headers["Vary"] == "Accept-Encoding")

            let brotli = try await client.get("/static/app.js", headers: ["Accept-Encoding": "gzip, deflate, br, zstd"])
            #expect(brotli.headers["Content-Encoding"] == "br")
            #expect(brotli.text == "pretend-brotli")
            #expect(brotli.headers["Content-Type"] == "text/javascript; charset=utf-8")
            #expect(brotli.headers["Vary"] == "Accept-Encoding")

            let gzip = try await client.get("/static/app.js", headers: ["Accept-Encoding": "gzip;q=0.9, br;q=0.1"])
            #expect(gzip.headers["Content-Encoding"] == "gzip")
            #expect(gzip.headers["Content-Type"] == "text/javascript; charset=utf-8")
            #expect(Gzip.decompress(gzip.body, limit: 1 << 20) == Array(Assets.script.utf8))
            #expect(gzip.headers["ETag"] != identity.headers["ETag"], "each representation has its own ETag")
            #expect(gzip.headers["ETag"] != brotli.headers["ETag"])

            for refusal in ["gzip;q=0, br;q=0", "identity", "deflate", "identity;q=1, gzip;q=0.5, br;q=0.5", "*;q=0, identity"] {
                let plain = try await client.get("/static/app.js", headers: ["Accept-Encoding": refusal])
                #expect(plain.headers["Content-Encoding"] == nil, "\(refusal)")
                #expect(plain.text == Assets.script, "\(refusal)")
            }
            // Only a .gz beside style.css: br alone gets the original.
            #expect(try await client.get("/static/style.css", headers: ["Accept-Encoding": "br"]).text == "body{}")
            let css = try await client.get("/static/style.css", headers: ["Accept-Encoding": "br, gzip"])
            #expect(css.headers["Content-Encoding"] == "gzip")
            #expect(css.headers["Content-Type"] == "text/css; charset=utf-8")

            // Ranges and validators are of the compressed file.
            let part = try await client.get("/static/app.js", headers: ["Accept-Encoding": "gzip", "Range": "bytes=0-9"])
            #expect(part.status == 206)
            #expect(part.headers["Content-Encoding"] == "gzip")
            #expect(part.body == Array(gzip.body.prefix(10)))
            #expect(part.headers["Content-Range"] == "bytes 0-9/\(gzip.body.count)")
            let gzipTag = try #require(gzip.headers["ETag"])
            let revalidated = try await client.get("/static/app.js", headers: ["Accept-Encoding": "gzip", "If-None-Match": gzipTag])
            #expect(revalidated.status == 304)
            #expect(revalidated.headers["Content-Encoding"] == "gzip")
        }
    }

    @Test(arguments: bothModes)
    func siblingsAreIgnoredUnlessAskedForAndNeverLeaveTheDirectory(mode: TestMode) async throws {
        let assets = try Assets()
        defer { assets.remove() }
        try await assets.app().test(mode) { client throws in
            let plain = try await client.get("/static/app.js", headers: ["Accept-Encoding": "gzip, br"])
            #expect(plain.headers["Content-Encoding"] == nil)
            #expect(plain.headers["Vary"] == nil)
            #expect(plain.text == Assets.script)
        }
        try await assets.app(precompressed: true).test(mode) { client throws in
            // leak.txt.gz is a symlink to a file outside: the original is served instead.
            let leak = try await client.get("/static/leak.txt", headers: ["Accept-Encoding": "gzip"])
            #expect(leak.status == 200)
            #expect(leak.headers["Content-Encoding"] == nil)
            #expect(leak.text == "public text")
            for path in ["/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/%2E%2E%2Fsecret.txt", "/static/secret.txt",
                         "/static/..%2fsecret.txt", "/static/app.js%00", "/static/leak.txt.gz", "/static/missing.js"] {
                let response = try await client.get(path, headers: ["Accept-Encoding": "gzip, br"])
                #expect(response.status == 404, "\(path)")
                #expect(Gzip.decompress(response.body, limit: 1000) == nil, "\(path)")
                #expect(!response.text.contains("top secret"))
            }
        }
    }
}

import Courier
import CourierTesting
import Dispatch
import Foundation
import Testing

/// Numbers a client sends, as the app's users see the answers: body lengths against a route's
/// limit (400 or 413, never a trap), numbers in paths and queries (strings, never parsed by the
/// framework), percent escapes, and headers the static files do not read (Range, If-*), fed
/// values past `Int.max` and `UInt64.max`, signs, hex, spaces and leading zeros.

/// Sends `bytes` on a connection of its own and reads the answer (off Swift's cooperative pool).
private func exchange(port: Int, _ bytes: [UInt8]) async throws -> TestResponse {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue(label: "courier.hostile-number-test").async {
            continuation.resume(with: Result {
                let client = try RawClient(port: port, timeoutSeconds: 5)
                guard client.send(bytes) else { throw RawClient.Failure.closed }
                return try client.readResponse()
            })
        }
    }
}

private func exchange(port: Int, _ text: String) async throws -> TestResponse {
    try await exchange(port: port, Array(text.utf8))
}

/// The app under test: a route taking at most 100 body bytes, answering how many it got.
private func limitedApp() -> Application {
    let app = Application()
    app.post("/small", maxBodyBytes: 100) { request, response in response.write("\(request.body.count)") }
    app.post("/default") { request, response in response.write("\(request.body.count)") }
    app.get("/alive") { _, response in response.write("alive") }
    return app
}

private func post(_ path: String = "/small", lengthText: String, body: [UInt8]) -> [UInt8] {
    Array("POST \(path) HTTP/1.1\r\nHost: a\r\nContent-Length: \(lengthText)\r\n\r\n".utf8) + body
}

private func postChunked(_ chunks: String, to path: String = "/small") -> String {
    "POST \(path) HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(chunks)"
}

struct LengthCase: Sendable, CustomTestStringConvertible {
    let lengthText: String
    let bodyBytes: Int
    let status: Int
    init(_ lengthText: String, body: Int = 0, _ status: Int) {
        self.lengthText = lengthText
        self.bodyBytes = body
        self.status = status
    }
    var testDescription: String { "Content-Length: \(lengthText) -> \(status)" }
}

@Suite struct BodyLimitValueTests {
    static let cases: [LengthCase] = [
        LengthCase("100", body: 100, 200),
        LengthCase("0100", body: 100, 200),
        LengthCase("00000000000000000000000000100", body: 100, 200),
        LengthCase(" 100 ", body: 100, 200),
        LengthCase("0", 200),
        // One past the route's limit, and far past it: refused on the head, before any body.
        LengthCase("101", 413),
        LengthCase("1000", 413),
        LengthCase("2147483648", 413),
        LengthCase("4294967296", 413),
        LengthCase("999999999999999999", 413),
        // Past what a length may be at all: malformed, whatever the limit.
        LengthCase("1000000000000000000", 400),
        LengthCase("9223372036854775807", 400),
        LengthCase("9223372036854775808", 400),
        LengthCase("18446744073709551615", 400),
        LengthCase("18446744073709551616", 400),
        LengthCase(String(repeating: "9", count: 300), 400),
        LengthCase("-1", 400),
        LengthCase("-100", 400),
        LengthCase("+100", body: 100, 400),
        LengthCase("0x64", body: 100, 400),
        LengthCase("1e2", body: 100, 400),
        LengthCase("100.0", body: 100, 400),
        LengthCase("１００", body: 100, 400),
        LengthCase("100, 101", body: 100, 400),
    ]

    @Test(arguments: cases)
    func contentLengthAgainstARouteLimit(_ length: LengthCase) async throws {
        try await limitedApp().test(.live) { client throws in
            let body = [UInt8](repeating: 0x61, count: length.bodyBytes)
            let response = try await exchange(port: client.port, post(lengthText: length.lengthText, body: body))
            #expect(response.status == length.status)
            if length.status == 200 { #expect(response.text == "\(length.bodyBytes)") }
            #expect(try await exchange(port: client.port, "GET /alive HTTP/1.1\r\nHost: a\r\n\r\n").text == "alive")
        }
    }

    /// The default limit (1 MiB) at its edge, declared but not sent.
    @Test func theDefaultLimitIsExact() async throws {
        try await limitedApp().test(.live) { client throws in
            let over = try await exchange(port: client.port, post("/default", lengthText: "1048577", body: []))
            #expect(over.status == 413)
            let exact = try await exchange(port: client.port, post("/default", lengthText: "1048576",
                                                                    body: [UInt8](repeating: 0x62, count: 1 << 20)))
            #expect(exact.status == 200 && exact.text == "1048576")
        }
    }

    /// Chunked, the limit is on the sum of the chunks, whatever one chunk declares.
    @Test(arguments: [
        ("40\r\n\(String(repeating: "a", count: 64))\r\n24\r\n\(String(repeating: "a", count: 36))\r\n0\r\n\r\n", 200),
        ("0000000000000000000064\r\n\(String(repeating: "a", count: 100))\r\n0\r\n\r\n", 200),
        ("40\r\n\(String(repeating: "a", count: 64))\r\n25\r\n\(String(repeating: "a", count: 37))\r\n0\r\n\r\n", 413),
        ("65\r\n\(String(repeating: "a", count: 101))\r\n0\r\n\r\n", 413),
        ("fffffffffffffff\r\n\(String(repeating: "a", count: 200))", 413),
        ("1000000000000000\r\naaaa", 400),
        ("ffffffffffffffff\r\naaaa", 400),
        ("10000000000000000\r\naaaa", 400),
        ("-1\r\naaaa", 400),
        ("+1\r\na\r\n0\r\n\r\n", 400),
        ("0x1\r\na\r\n0\r\n\r\n", 400),
    ])
    func chunkedBodiesAgainstARouteLimit(chunks: String, status: Int) async throws {
        try await limitedApp().test(.live) { client throws in
            let response = try await exchange(port: client.port, postChunked(chunks))
            #expect(response.status == status)
            if status == 200 { #expect(response.text == "100") }
        }
    }
}

@Suite struct PercentDecodingTests {
    /// Invalid escapes stay as they are; valid ones become their byte; bytes that are not
    /// UTF-8 become U+FFFD. No escape is read as more than two hex digits.
    @Test(arguments: [
        ("%", "%"), ("%4", "%4"), ("%G1", "%G1"), ("%1G", "%1G"), ("%%41", "%A"), ("%41%", "A%"), ("%%", "%%"),
        ("%41", "A"), ("%4a", "J"), ("%4A", "J"), ("%414", "A4"), ("%00", "\u{00}"), ("%7F", "\u{7F}"),
        ("%FF", "\u{FFFD}"), ("%C3%A9", "é"), ("%c3%a9", "é"), ("%C3", "\u{FFFD}"), ("%E2%82", "\u{FFFD}"),
        ("%-1", "%-1"), ("%+1", "% 1"), ("% 1", "% 1"), ("%0x", "%0x"), ("%٤١", "%٤١"), ("%４１", "%４１"),
        ("+%2B+", " + "), ("%2B", "+"), ("%25", "%"), ("%2525", "%25"),
        ("18446744073709551616%25", "18446744073709551616%"),
    ])
    func formDecoding(encoded: String, decoded: String) {
        #expect(URLEncoding.decode(encoded) == decoded)
    }

    @Test func longRunsOfPercentSignsAreKept() {
        let percents = String(repeating: "%", count: 10_000)
        #expect(URLEncoding.decode(percents) == percents)
        #expect(URLEncoding.decode(String(repeating: "%4", count: 5_000)) == String(repeating: "%4", count: 5_000))
        #expect(URLEncoding.decode(String(repeating: "%41", count: 5_000)) == String(repeating: "A", count: 5_000))
    }

    @Test(arguments: bothModes)
    func hostileEscapesInPathsAndQueries(mode: TestMode) async throws {
        let app = Application()
        app.get("/p/<rest:.*>") { request, response in
            try response.json(["path": request.path, "rest": request.parameters["rest"] ?? "", "q": request["q"]])
        }
        try await app.test(mode) { client throws in
            let response = try await client.get("/p/%ZZ%4%FF+%2F%00?q=%%41%FF%C3+1%2B")
            #expect(response.status == 200)
            let fields = try JSONDecoder().decode([String: String].self, from: Data(response.body))
            #expect(fields["rest"] == "%ZZ%4\u{FFFD}+/\u{00}")
            #expect(fields["q"] == "%A\u{FFFD}\u{FFFD} 1+")
        }
    }
}

@Suite struct RouteParameterValueTests {
    /// A number in a path is a string to the framework: any length a request line allows comes
    /// through exactly, for the app to read with a bounded parse; past the line limit it is 414.
    @Test func numericParametersAreStringsAndBoundedByTheRequestLine() async throws {
        let app = Application()
        app.get("/n/<n:[0-9]+>") { request, response in
            let text = request.parameters["n"] ?? ""
            guard let number = Int(exactly: UInt64(text) ?? .max), number <= 1_000 else {
                throw HTTPError(.badRequest, "n is a number up to 1000")
            }
            response.write("\(number)")
        }
        try await app.test(.live) { client throws in
            #expect(try await client.get("/n/1000").text == "1000")
            #expect(try await client.get("/n/0001000").text == "1000")
            for hostile in ["1001", "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
                            String(repeating: "9", count: 4_000)] {
                #expect(try await client.get("/n/\(hostile)").status == 400, "\(hostile.prefix(30))")
            }
            #expect(try await client.get("/n/%31%30").text == "10", "the path is matched decoded")
            for notANumber in ["-1", "+1", "0x10", "1e3", "%2D1"] {
                #expect(try await client.get("/n/\(notANumber)").status == 404, "\(notANumber)")
            }
            let tooLong = try await exchange(port: client.port, "GET /n/\(String(repeating: "9", count: 9_000)) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(tooLong.status == 414)
        }
    }
}

/// A hostile numeric header and what static files must answer it: a status, body and
/// Content-Range that follow RFC 9110, never a trap.
struct StaticFileHeaderCase: Sendable, CustomTestStringConvertible {
    let name: String, value: String, status: Int, text: String, contentRange: String?
    init(_ name: String, _ value: String, _ status: Int = 200, _ text: String = "0123456789", _ contentRange: String? = nil) {
        (self.name, self.value, self.status, self.text, self.contentRange) = (name, value, status, text, contentRange)
    }
    var testDescription: String { "\(name): \(value.prefix(40))" }
}

@Suite struct StaticFileHeaderValueTests {
    /// Ranges are honoured with every number range-checked (saturating, so a first byte past
    /// `Int.max` is past the end: 416); a Range that does not parse, or has too many ranges, is
    /// ignored (the whole file, 200); date conditions with impossible dates are ignored, and
    /// If-None-Match is compared as text.
    @Test(arguments: [
        StaticFileHeaderCase("Range", "bytes=0-4", 206, "01234", "bytes 0-4/10"),
        StaticFileHeaderCase("Range", "bytes=-18446744073709551616", 206, "0123456789", "bytes 0-9/10"),
        StaticFileHeaderCase("Range", "bytes=9223372036854775807-", 416, "", "bytes */10"),
        StaticFileHeaderCase("Range", "bytes=18446744073709551615-18446744073709551616", 416, "", "bytes */10"),
        StaticFileHeaderCase("Range", "bytes=9-99999999999999999999999999999999", 206, "9", "bytes 9-9/10"),
        StaticFileHeaderCase("Range", "bytes=-1--1"), StaticFileHeaderCase("Range", "bytes=0x10-0x20"),
        StaticFileHeaderCase("Range", "bytes=" + Array(repeating: "0-0", count: 500).joined(separator: ",")),
        StaticFileHeaderCase("If-Range", "99999999999999999999"),
        StaticFileHeaderCase("If-Modified-Since", "Sun, 04 Dec 292277026596 15:30:07 GMT"),
        StaticFileHeaderCase("If-Modified-Since", "99999999999999999999"),
        StaticFileHeaderCase("If-Unmodified-Since", "-1"), StaticFileHeaderCase("If-Match", "\"-1\""),
        StaticFileHeaderCase("If-None-Match", "\"18446744073709551616\""),
        StaticFileHeaderCase("If-None-Match", "W/\"" + String(repeating: "9", count: 8_000) + "\""),
    ])
    func numericConditionsAreCheckedOrIgnored(_ header: StaticFileHeaderCase) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("courier-numbers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("0123456789".utf8).write(to: directory.appendingPathComponent("digits.txt"))
        let app = Application()
        app.serveFiles(at: "/static", from: directory.path)
        try await app.test(.live) { client throws in
            let response = try await client.get("/static/digits.txt", headers: [header.name: header.value])
            #expect(response.status == header.status)
            #expect(response.text == header.text)
            #expect(response.headers["Content-Range"] == header.contentRange)
            #expect(try await client.get("/static/digits.txt").text == "0123456789", "the server carries on")
        }
    }
}

@Suite struct CookieValueTests {
    /// A cookie named like an attribute, with a huge number, is only a cookie.
    @Test(arguments: bothModes)
    func numericCookieValuesAreText(mode: TestMode) async throws {
        let app = Application()
        app.get("/cookies") { request, response in try response.json(request.cookies) }
        try await app.test(mode) { client throws in
            let headers: HTTPHeaders = ["Cookie": "Max-Age=99999999999999999999; Expires=-1; n=18446744073709551616; e=1e308"]
            let cookies = try JSONDecoder().decode([String: String].self, from: Data(try await client.get("/cookies", headers: headers).body))
            #expect(cookies == ["Max-Age": "99999999999999999999", "Expires": "-1", "n": "18446744073709551616", "e": "1e308"])
        }
    }

    /// An Expires computed from an outside number (a "remember me for N days" field) may be any
    /// Date: it is written within the years a cookie date has, never trapping on `Int(_:)`.
    @Test(arguments: [
        (1e300, "Fri, 31 Dec 9999 23:59:59 GMT"), (Double.infinity, "Fri, 31 Dec 9999 23:59:59 GMT"),
        (Double(Int.max), "Fri, 31 Dec 9999 23:59:59 GMT"), (9.3e18, "Fri, 31 Dec 9999 23:59:59 GMT"),
        (253_402_300_799, "Fri, 31 Dec 9999 23:59:59 GMT"), (253_402_300_800, "Fri, 31 Dec 9999 23:59:59 GMT"),
        (-1e300, "Thu, 01 Jan 1970 00:00:00 GMT"), (-Double.infinity, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (Double.nan, "Thu, 01 Jan 1970 00:00:00 GMT"), (-1, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (86_400.9, "Fri, 02 Jan 1970 00:00:00 GMT"),
    ])
    func expiresIsClampedToCookieDates(seconds: Double, expected: String) {
        let cookie = Cookie(name: "n", value: "v", expires: Date(timeIntervalSince1970: seconds))
        #expect(cookie.headerValue.contains("Expires=\(expected)"), "\(cookie.headerValue)")
    }

    @Test func maxAgeIsWrittenAsGivenAtTheExtremes() {
        #expect(Cookie(name: "n", value: "v", maxAge: .max).headerValue.contains("Max-Age=9223372036854775807"))
        #expect(Cookie(name: "n", value: "v", maxAge: .min).headerValue.contains("Max-Age=-9223372036854775808"))
    }
}

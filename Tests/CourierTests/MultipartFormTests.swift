import Courier
import CourierTesting
import Foundation
import Testing

/// A multipart/form-data body and its Content-Type, part by part, with any bytes as data.
struct MultipartBuilder {
    var boundary = "----CourierBoundary\(UUID().uuidString.prefix(8))"
    var body: [UInt8] = []

    mutating func field(_ name: String, _ value: String) {
        part(["Content-Disposition: form-data; name=\"\(name)\""], Array(value.utf8))
    }

    mutating func file(_ name: String, filename: String, type: String = "application/octet-stream", _ bytes: [UInt8]) {
        part(["Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"", "Content-Type: \(type)"], bytes)
    }

    mutating func part(_ headers: [String], _ data: [UInt8]) {
        body += Array("--\(boundary)\r\n\(headers.map { $0 + "\r\n" }.joined())\r\n".utf8) + data + [0x0D, 0x0A]
    }

    func finished() -> [UInt8] { body + Array("--\(boundary)--\r\n".utf8) }
    var headers: HTTPHeaders { ["Content-Type": "multipart/form-data; boundary=\(boundary)"] }
}

/// What the upload route saw, as JSON.
struct Echoed: Decodable, Equatable {
    struct File: Decodable, Equatable {
        let field: String, filename: String, type: String, size: Int, bytes: [UInt8]
    }
    let title: String, titles: [String], formOnly: String, note: String, fields: [String: String], files: [File]
}

@Suite struct MultipartFormTests {
    private func uploadApp(maxBodyBytes: Int? = nil) -> Application {
        let app = Application()
        app.post("/upload", maxBodyBytes: maxBodyBytes) { request, response in
            struct File: Encodable { let field: String, filename: String, type: String, size: Int, bytes: [UInt8] }
            struct Body: Encodable {
                let title: String, titles: [String], formOnly: String, note: String, fields: [String: String], files: [File]
            }
            try response.json(Body(title: request["title"], titles: request.all("title"), formOnly: request.formValue("title"),
                                   note: request["note"], fields: request.fields,
                                   files: request.files.map { File(field: $0.fieldName, filename: $0.filename, type: $0.contentType,
                                                                   size: $0.bytes.count, bytes: $0.bytes) }))
        }
        app.post("/ignores-the-body") { _, response in response.write("ran") }
        return app
    }

    private func decode(_ response: TestResponse) throws -> Echoed {
        try JSONDecoder().decode(Echoed.self, from: Data(response.body))
    }

    @Test(arguments: bothModes)
    func fieldsAndFilesAsWebapp2Gave(mode: TestMode) async throws {
        var form = MultipartBuilder()
        form.field("title", "Grüße & <tags>")
        form.field("title", "second")
        let binary = (0..<3000).map { UInt8($0 % 256) }
        form.file("upload", filename: "naïve résumé.bin", binary)
        form.file("notes", filename: "a.txt", type: "text/plain; charset=utf-8", Array("line\r\n--\(form.boundary.dropLast())-not-really\r\n--\r\n".utf8))
        form.part(["Content-Disposition: form-data; name=\"empty\"; filename=\"\"", "Content-Type: application/octet-stream"], [])
        try await uploadApp().test(mode) { client throws in
            let response = try await client.post("/upload?note=from-query&title=query-title", headers: form.headers, body: form.finished())
            #expect(response.status == 200, "\(response.text)")
            let echoed = try decode(response)
            #expect(echoed.title == "query-title", "the query comes first, as in webapp2")
            #expect(echoed.titles == ["query-title", "Grüße & <tags>", "second"])
            #expect(echoed.formOnly == "Grüße & <tags>", "formValue reads the body alone")
            #expect(echoed.note == "from-query")
            #expect(echoed.fields["empty"] == "", "an empty file input is an empty field")
            #expect(echoed.fields["upload"] == nil, "files are not text fields")
            #expect(echoed.files.count == 2)
            #expect(echoed.files.first == .init(field: "upload", filename: "naïve résumé.bin", type: "application/octet-stream",
                                                size: 3000, bytes: binary))
            #expect(echoed.files.last?.type == "text/plain; charset=utf-8")
            #expect(echoed.files.last?.bytes == Array("line\r\n--\(form.boundary.dropLast())-not-really\r\n--\r\n".utf8))
        }
    }

    @Test(arguments: bothModes)
    func malformedBodiesAre400WithTheReason(mode: TestMode) async throws {
        let disposition = "Content-Disposition: form-data; name=\"a\""
        let cases: [(String, HTTPHeaders, String, String)] = [
            ("no boundary", ["Content-Type": "multipart/form-data"], "--x\r\n\r\n--x--", "has no boundary"),
            ("long boundary", ["Content-Type": "multipart/form-data; boundary=\(String(repeating: "b", count: 71))"], "--b--", "1 to 70"),
            ("never closed", ["Content-Type": "multipart/form-data; boundary=x"], "--x\r\n\(disposition)\r\n\r\nvalue", "closing boundary"),
            ("no boundary line", ["Content-Type": "multipart/form-data; boundary=x"], "hello", "no boundary line"),
            ("huge head", ["Content-Type": "multipart/form-data; boundary=x"],
             "--x\r\n\(disposition)\r\nX-Pad: \(String(repeating: "p", count: 10_000))\r\n\r\nv\r\n--x--", "over 8192 bytes"),
            ("nested", ["Content-Type": "multipart/form-data; boundary=x"],
             "--x\r\n\(disposition)\r\nContent-Type: multipart/mixed; boundary=y\r\n\r\n--y--\r\n--x--", "itself multipart"),
            ("bare LF", ["Content-Type": "multipart/form-data; boundary=x"], "--x\r\n\(disposition)\nX: 1\r\n\r\nv\r\n--x--", "control character"),
            ("too many parts", ["Content-Type": "multipart/form-data; boundary=x"],
             String(repeating: "--x\r\n\(disposition)\r\n\r\nv\r\n", count: 1001) + "--x--", "more than 1000 parts"),
        ]
        try await uploadApp().test(mode) { client throws in
            for (what, headers, body, reason) in cases {
                for path in ["/upload", "/ignores-the-body"] {
                    let response = try await client.post(path, headers: headers, body: Array(body.utf8))
                    #expect(response.status == 400, "\(what) to \(path)")
                    #expect(response.text.contains(reason), "\(what): \(response.text)")
                    #expect(response.text.hasPrefix("The multipart/form-data body is malformed"), "\(what)")
                }
            }
            // The connection and the server carry on.
            var form = MultipartBuilder()
            form.field("title", "after")
            #expect(try decode(try await client.post("/upload", headers: form.headers, body: form.finished())).title == "after")
        }
    }

    @Test(arguments: bothModes)
    func anEmptyBodyOrAnotherTypeIsNoForm(mode: TestMode) async throws {
        try await uploadApp().test(mode) { client throws in
            let empty = try await client.post("/upload", headers: ["Content-Type": "multipart/form-data; boundary=x"], body: [])
            #expect(empty.status == 200)
            #expect(try decode(empty).files.isEmpty)
            var form = MultipartBuilder()
            form.field("title", "hidden")
            let other = try await client.post("/upload", headers: ["Content-Type": "application/octet-stream"], body: form.finished())
            #expect(try decode(other).title == "", "only multipart/form-data is read as a form")
        }
    }

    /// The route's body limit bounds an upload: over it, 413 while the client is still sending.
    @Test func uploadsOverTheRouteLimitAre413() async throws {
        try await uploadApp(maxBodyBytes: 64 * 1024).test(.live) { client throws in
            var form = MultipartBuilder()
            form.file("upload", filename: "big.bin", [UInt8](repeating: 0x41, count: 200 * 1024))
            let body = form.finished()
            let raw = try RawClient(port: client.port)
            let head = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=\(form.boundary)\r\nContent-Length: \(body.count)\r\n\r\n"
            #expect(raw.send(Array(head.utf8) + body.prefix(1024)))
            #expect(try raw.readResponse().status == 413)
            // Chunked, with no length to refuse up front: refused once the chunks pass the limit.
            let chunked = try RawClient(port: client.port)
            let chunkedHead = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=\(form.boundary)\r\nTransfer-Encoding: chunked\r\n\r\n"
            var bytes = Array(chunkedHead.utf8)
            for piece in stride(from: 0, to: 80 * 1024, by: 16 * 1024) {
                let chunk = Array(body[piece..<(piece + 16 * 1024)])
                bytes += Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + [0x0D, 0x0A]
            }
            #expect(chunked.send(bytes))
            #expect(try chunked.readResponse().status == 413)
            // Within the limit, the same route takes it.
            var small = MultipartBuilder()
            small.file("upload", filename: "ok.bin", [UInt8](repeating: 0x42, count: 60 * 1024))
            let accepted = try await client.post("/upload", headers: small.headers, body: small.finished())
            #expect(accepted.status == 200)
            #expect(try decode(accepted).files.first?.size == 60 * 1024)
        }
    }

    @Test func aRouteWithARaisedLimitTakesALargeFile() async throws {
        try await uploadApp(maxBodyBytes: 8 << 20).test(.live) { client throws in
            var form = MultipartBuilder()
            var generator = SystemRandomNumberGenerator()
            let bytes = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            form.file("upload", filename: "random.bin", bytes)
            let response = try await client.post("/upload", headers: form.headers, body: form.finished())
            #expect(response.status == 200)
            let echoed = try decode(response)
            #expect(echoed.files.first?.size == 3 << 20)
            #expect(echoed.files.first?.bytes == bytes)
        }
    }
}

import ArgumentParser
import Courier
import Crypto
import Foundation

/// A WebSocket echo server at `/`: every text or binary message comes straight back. `/upload`
/// echoes a form the same way: a page with a text field and a file input, and a POST that
/// answers what it received (fields, and each file's name, type, size and SHA-256).
struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "Echo", abstract: "A WebSocket echo server at /, and a form echo at /upload.")

    @OptionGroup var server: ServerOptions

    @Flag(help: "Turn down permessage-deflate offers.")
    var noCompression = false

    @Flag(help: "Give each connection its own zlib streams instead of the loop's shared ones.")
    var contextTakeover = false

    func run() throws {
        let app = Application()
        let configuration = WebSocketConfiguration(compression: !noCompression, compressionContextTakeover: contextTakeover)
        app.webSocket("/", configuration: configuration) { _, socket in
            socket.onText = { socket, text in socket.send(text) }
            socket.onBinary = { socket, bytes in socket.send(binary: bytes) }
        }
        app.get("/upload") { _, response in response.write(uploadPage) }
        app.post("/upload", maxBodyBytes: 8 << 20) { request, response in
            response.write(echoPage(for: request))
        }
        try app.run(options: server)
    }
}

private let uploadPage = """
    <!doctype html>
    <meta charset="utf-8">
    <title>Upload</title>
    <form method="post" action="/upload" enctype="multipart/form-data">
      <input type="text" name="title">
      <input type="file" name="upload" multiple>
      <button type="submit">Send</button>
    </form>
    """

/// The fields and files as JSON inside `<pre id="result">`, so a browser test reads it from the page.
private func echoPage(for request: Request) -> String {
    struct File: Encodable {
        let field: String, filename: String, type: String, size: Int, sha256: String
    }
    struct Echoed: Encodable {
        let title: String, fields: [String: String], files: [File]
    }
    let files = request.files.map { file in
        File(field: file.fieldName, filename: file.filename, type: file.contentType, size: file.bytes.count,
             sha256: SHA256.hash(data: file.bytes).map { String(format: "%02x", $0) }.joined())
    }
    let json = (try? JSONEncoder().encode(Echoed(title: request["title"], fields: request.fields, files: files))) ?? Data()
    return "<!doctype html><meta charset=\"utf-8\"><title>Received</title><pre id=\"result\">"
        + HTML.escape(String(decoding: json, as: UTF8.self)) + "</pre>"
}

Echo.main()

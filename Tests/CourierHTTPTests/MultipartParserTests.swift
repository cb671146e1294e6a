import CourierHTTP
import Testing

/// A body as a browser writes it: CRLF lines, `--boundary` before each part, `--boundary--` last.
func multipartBody(boundary: String = "XyZ", _ parts: [(headers: [String], data: String)], preamble: String = "",
                   epilogue: String = "") -> [UInt8] {
    var text = preamble
    for part in parts {
        text += "--\(boundary)\r\n" + part.headers.map { $0 + "\r\n" }.joined() + "\r\n" + part.data + "\r\n"
    }
    text += "--\(boundary)--" + epilogue
    return Array(text.utf8)
}

/// Parses `body` fed in pieces of `pieces` sizes (cycled), collecting parts as the events say.
func parseParts(_ body: [UInt8], boundary: String = "XyZ", pieceSize: Int? = nil,
                limits: MultipartParser.Limits = .init()) throws(MultipartError) -> [(MultipartPartHead, [UInt8])] {
    var parser = MultipartParser(boundary: boundary, limits: limits)
    var parts: [(MultipartPartHead, [UInt8])] = []
    var current: (MultipartPartHead, [UInt8])?
    var unconsumed: [UInt8] = []
    var fed = 0
    while true {
        let piece = pieceSize.map { min($0, body.count - fed) } ?? (body.count - fed)
        unconsumed += body[fed..<(fed + piece)]
        fed += piece
        var offset = 0
        while true {
            let (consumed, event) = try parser.next(unconsumed[offset...])
            offset += consumed
            switch event {
            case .partBegan(let head)?: current = (head, [])
            case .data(let bytes)?: current?.1 += bytes
            case .partEnded?: parts.append(current!); current = nil
            case .finished?, nil: break
            }
            if event == nil, consumed == 0 { break }
        }
        unconsumed.removeFirst(offset)
        if fed == body.count { break }
    }
    try parser.finish()
    return parts
}

@Suite struct MultipartParserTests {
    static let browserBody = multipartBody(boundary: "----WebKitFormBoundary7MA4YWxkTrZu0gW", [
        (["Content-Disposition: form-data; name=\"title\""], "Hello, wörld"),
        (["Content-Disposition: form-data; name=\"upload\"; filename=\"été.txt\"", "Content-Type: text/plain"],
         "line one\r\n--not the boundary\r\n\r\n--"),
        (["Content-Disposition: form-data; name=\"empty\"; filename=\"\"", "Content-Type: application/octet-stream"], ""),
    ])

    @Test func readsABrowsersBodyInEveryPieceSize() throws {
        for size in [nil, 1, 2, 3, 7, 40, 41, 42, 43, 64] as [Int?] {
            let parts = try parseParts(Self.browserBody, boundary: "----WebKitFormBoundary7MA4YWxkTrZu0gW", pieceSize: size)
            #expect(parts.count == 3, "piece size \(String(describing: size))")
            guard parts.count == 3 else { continue }
            #expect(parts[0].0 == MultipartPartHead(name: "title"))
            #expect(parts[0].1 == Array("Hello, wörld".utf8))
            #expect(parts[1].0 == MultipartPartHead(name: "upload", filename: "été.txt", contentType: "text/plain"))
            #expect(parts[1].1 == Array("line one\r\n--not the boundary\r\n\r\n--".utf8))
            #expect(parts[2].0.filename == "")
            #expect(parts[2].1.isEmpty)
        }
    }

    @Test func splitAtEveryByteGivesTheSameParts() throws {
        let whole = try parseParts(Self.browserBody, boundary: "----WebKitFormBoundary7MA4YWxkTrZu0gW")
        for cut in 1..<Self.browserBody.count {
            var parser = MultipartParser(boundary: "----WebKitFormBoundary7MA4YWxkTrZu0gW")
            var data: [UInt8] = []
            var unconsumed = Array(Self.browserBody[..<cut])
            for rest in [Array(Self.browserBody[cut...]), []] {
                var offset = 0
                while true {
                    let (consumed, event) = try parser.next(unconsumed[offset...])
                    offset += consumed
                    if case .data(let bytes)? = event { data += bytes }
                    if event == nil, consumed == 0 { break }
                }
                unconsumed.removeFirst(offset)
                unconsumed += rest
            }
            try parser.finish()
            #expect(data == whole.flatMap(\.1), "cut at \(cut)")
        }
    }

    @Test func preambleEpiloguePaddingAndNoParts() throws {
        let body = multipartBody([(["Content-Disposition: form-data; name=a"], "1")], preamble: "ignored\r\n", epilogue: "\r\nignored too")
        let parts = try parseParts(body)
        #expect(parts.map(\.0.name) == ["a"])
        let padded = Array("--XyZ  \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ--".utf8)
        #expect(try parseParts(padded).map(\.1) == [Array("v".utf8)])
        #expect(try parseParts(Array("--XyZ--\r\n".utf8)).isEmpty)
    }

    @Test(arguments: [
        ("form-data; name=\"a\"; filename*=UTF-8''%E2%82%AC%20rates.txt; filename=\"fallback.txt\"", "a", "€ rates.txt"),
        ("form-data; name=\"a\"; filename=\"fallback.txt\"; filename*=utf-8'en'%C3%A9", "a", "é"),
        ("form-data; name=\"a\"; filename*=iso-8859-1''%E9t%E9", "a", "été"),
        ("form-data; name=\"a\"; filename*=UTF-8''%FF; filename=\"bad-utf8.txt\"", "a", "bad-utf8.txt"),
        ("form-data; name=\"a\"; filename*=koi8-r''%C1; filename=\"other.txt\"", "a", "other.txt"),
        ("form-data; name=\"q%22uote\"; filename=\"a%22b%0D%0Ac 100%.txt\"", "q\"uote", "a\"b\r\nc 100%.txt"),
        ("FORM-DATA;NAME=plain;FILENAME=x.bin", "plain", "x.bin"),
        ("form-data; name=\"semi;colon\"; filename=\"C:\\\\path\\\\file.txt\"", "semi;colon", "C:\\\\path\\\\file.txt"),
    ])
    func contentDispositionNames(disposition: String, name: String, filename: String) throws {
        let parts = try parseParts(multipartBody([(["Content-Disposition: \(disposition)"], "x")]))
        #expect(parts.first?.0.name == name)
        #expect(parts.first?.0.filename == filename)
    }

    /// What a hostile or broken client sends: refused with a reason, never a trap, in whole or
    /// in single bytes.
    @Test(arguments: [
        ("no boundary at all", Array("just some text".utf8), "no boundary line"),
        ("never closed", Array("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nforever".utf8), "closing boundary"),
        ("head never ends", Array("--XyZ\r\nContent-Disposition: form-data; name=a\r\n".utf8), "closing boundary"),
        ("other boundary", multipartBody(boundary: "Other", [(["Content-Disposition: form-data; name=a"], "1")]), "no boundary line"),
        ("text after boundary", Array("--XyZjunk\r\n\r\n--XyZ--".utf8), "text after the boundary"),
        ("boundary then one dash", Array("--XyZ-x\r\n".utf8), "text after the boundary"),
        ("bare LF after boundary", Array("--XyZ\nContent-Disposition: form-data; name=a\n\nv\n--XyZ--".utf8), "text after the boundary"),
        ("bare LF in head", Array("--XyZ\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nv\r\n--XyZ--".utf8), "control character"),
        ("bare CR in head", Array("--XyZ\r\nContent-Disposition: form-data; name=a\rX: y\r\n\r\nv\r\n--XyZ--".utf8), "control character"),
        ("NUL in head", Array("--XyZ\r\nContent-Disposition: form-data; name=a\0\r\n\r\nv\r\n--XyZ--".utf8), "control character"),
        ("folded head", Array("--XyZ\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nv\r\n--XyZ--".utf8), "folded"),
        ("no colon", Array("--XyZ\r\nContent-Disposition form-data\r\n\r\nv\r\n--XyZ--".utf8), "no colon"),
        ("no disposition", multipartBody([(["Content-Type: text/plain"], "1")]), "no Content-Disposition"),
        ("two dispositions", multipartBody([(["Content-Disposition: form-data; name=a", "Content-Disposition: form-data; name=b"], "1")]), "two Content-Disposition"),
        ("not form-data", multipartBody([(["Content-Disposition: attachment; name=a"], "1")]), "not form-data"),
        ("no name", multipartBody([(["Content-Disposition: form-data; filename=a.txt"], "1")]), "no name"),
        ("unclosed quote", multipartBody([(["Content-Disposition: form-data; name=\"a"], "1")]), "unclosed quote"),
        ("nested multipart", multipartBody([(["Content-Disposition: form-data; name=a", "Content-Type: multipart/mixed; boundary=inner"],
                                             "--inner\r\n\r\nx\r\n--inner--")]), "itself multipart"),
        ("huge head", multipartBody([(["Content-Disposition: form-data; name=a", "X-Pad: " + String(repeating: "p", count: 9000)], "1")]), "over 8192 bytes"),
        ("huge head without CRLF", Array(("--XyZ\r\nX-Pad: " + String(repeating: "p", count: 9000)).utf8), "over 8192 bytes"),
        ("endless padding", Array(("--XyZ" + String(repeating: " ", count: 100) + "\r\n").utf8), "text after the boundary"),
    ])
    func hostileBodiesAreRefused(what: String, body: [UInt8], reason: String) {
        for size in [nil, 1] as [Int?] {
            do {
                _ = try parseParts(body, pieceSize: size)
                Issue.record("\(what) was accepted")
            } catch {
                #expect(error.reason.contains(reason), "\(what): \(error.reason)")
            }
        }
    }

    @Test func tooManyParts() throws {
        let part = (headers: ["Content-Disposition: form-data; name=a"], data: "1")
        #expect(try parseParts(multipartBody(Array(repeating: part, count: 5)), limits: .init(maxParts: 5)).count == 5)
        #expect(throws: MultipartError("the form has more than 5 parts")) {
            _ = try parseParts(multipartBody(Array(repeating: part, count: 6)), limits: .init(maxParts: 5))
        }
    }

    @Test(arguments: [
        ("multipart/form-data; boundary=abc", "abc"), ("multipart/form-data; boundary=\"a b:c\"", "a b:c"),
        ("Multipart/Form-Data ; charset=utf-8; BOUNDARY=----WebKitFormBoundaryx", "----WebKitFormBoundaryx"),
        ("multipart/form-data;boundary=" + String(repeating: "b", count: 70), String(repeating: "b", count: 70)),
    ])
    func boundaries(contentType: String, boundary: String) throws {
        #expect(try MultipartBoundary.parse(contentType: contentType) == boundary)
    }

    @Test(arguments: [
        "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"abc", "multipart/form-data; boundary=\"ends in space \"",
        "multipart/form-data; boundary=" + String(repeating: "b", count: 71), "multipart/form-data; boundary=a\u{7F}b",
        "multipart/form-data; boundary=ü", "multipart/mixed; boundary=abc", "text/plain; boundary=abc",
        "multipart/form-data; boundary=a\"b",
    ])
    func badBoundariesAreRefused(contentType: String) {
        #expect(throws: MultipartError.self) { _ = try MultipartBoundary.parse(contentType: contentType) }
    }

    @Test func randomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("--XyZ\r\n:;=\"abcContent-Disposition: form-data; name=filename*%".utf8)
        for _ in 0..<3_000 {
            let body = (0..<Int.random(in: 0...120, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            _ = try? parseParts(body, pieceSize: Int.random(in: 1...8, using: &generator))
        }
    }
}

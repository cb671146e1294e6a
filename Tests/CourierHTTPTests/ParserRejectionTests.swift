import CourierHTTP
import Testing

@Suite struct ParserRejectionTests {
    static let lineEndings: [RejectionCase] = [
        RejectionCase("bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n"),
        RejectionCase("bare LF after a field", "GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n"),
        RejectionCase("bare LF as the empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n"),
        RejectionCase("bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("only bare LFs", "GET / HTTP/1.1\nHost: a\n\n"),
        RejectionCase("bare CR inside a field value", "GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n"),
        RejectionCase("bare CR before CRLF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n"),
        RejectionCase("bare CR as a line", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n\r\n"),
        RejectionCase("bare CR in the request target", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("bare CR after the version", "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"),
        RejectionCase("bare CR in a field name", "GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n"),
    ]

    static let requestLines: [RejectionCase] = [
        RejectionCase("two spaces after the method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("two spaces before the version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("space before the method", " GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("space after the version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
        RejectionCase("tabs as separators", "GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("missing version", "GET /\r\nHost: a\r\n\r\n"),
        RejectionCase("missing target", "GET HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("method alone", "GET\r\nHost: a\r\n\r\n"),
        RejectionCase("four words", "GET / extra HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("lowercase http", "GET / http/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n"),
        RejectionCase("two-digit minor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
        RejectionCase("letter for minor", "GET / HTTP/1.x\r\nHost: a\r\n\r\n"),
        RejectionCase("not HTTP", "GET / HTCPCP/1.0\r\nHost: a\r\n\r\n"),
        RejectionCase("separator in the method", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("NUL in the method", "GE\u{00}T / HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("NUL in the target", "GET /a\u{00}b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("control byte in the target", "GET /a\u{01}b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("DEL in the target", "GET /a\u{7F}b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RejectionCase("non-ASCII in the target", "GET /café HTTP/1.1\r\nHost: a\r\n\r\n"),
    ]

    static let versions: [RejectionCase] = [
        RejectionCase("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        RejectionCase("HTTP/3.0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505),
        RejectionCase("HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
        RejectionCase("HTTP/9.9", "GET / HTTP/9.9\r\n\r\n", 505),
    ]

    static let fieldLines: [RejectionCase] = [
        RejectionCase("obs-fold with a space", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n"),
        RejectionCase("obs-fold with a tab", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n"),
        RejectionCase("whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
        RejectionCase("space before the colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        RejectionCase("tab before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
        RejectionCase("empty field name", "GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n"),
        RejectionCase("no colon", "GET / HTTP/1.1\r\nHost: a\r\nX-No-Colon\r\n\r\n"),
        RejectionCase("separator in the name", "GET / HTTP/1.1\r\nHost: a\r\nX(Y): 1\r\n\r\n"),
        RejectionCase("space inside the name", "GET / HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n"),
        RejectionCase("NUL in the name", "GET / HTTP/1.1\r\nHost: a\r\nX\u{00}Y: 1\r\n\r\n"),
        RejectionCase("NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{00}b\r\n\r\n"),
        RejectionCase("NUL ending a value", "GET / HTTP/1.1\r\nHost: a\u{00}\r\n\r\n"),
        RejectionCase("control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{01}b\r\n\r\n"),
        RejectionCase("escape in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \u{1B}[31m\r\n\r\n"),
        RejectionCase("DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{7F}b\r\n\r\n"),
        RejectionCase("vertical tab in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{0B}b\r\n\r\n"),
    ]

    @Test(arguments: lineEndings)
    func lineEndingsOtherThanCRLFAreRejected(_ bad: RejectionCase) {
        expectRejection(bad.bytes, status: bad.status)
    }

    @Test(arguments: requestLines)
    func malformedRequestLinesAreRejected(_ bad: RejectionCase) {
        expectRejection(bad.bytes, status: bad.status)
    }

    @Test(arguments: versions)
    func otherMajorVersionsAreNotSupported(_ bad: RejectionCase) {
        expectRejection(bad.bytes, status: bad.status)
    }

    @Test(arguments: fieldLines)
    func malformedFieldLinesAreRejected(_ bad: RejectionCase) {
        expectRejection(bad.bytes, status: bad.status)
    }

    @Test func theErrorNamesItsStatusAndReason() {
        let error = parse(Array("GET / HTTP/2.0\r\nHost: a\r\n\r\n".utf8)).error
        #expect(error?.status == .httpVersionNotSupported)
        #expect(error?.reason.isEmpty == false)
        #expect(error.map(String.init(describing:))?.hasPrefix("505: ") == true)
    }
}

import CourierHTTP
import Testing

@Suite struct ParserBasicsTests {
    @Test func simpleGet() throws {
        let outcome = parse(request("GET /index.html HTTP/1.1", "Host: example.com"))
        #expect(outcome.error == nil)
        #expect(outcome.unconsumedBytes == 0)
        #expect(outcome.parserIsIdle)
        let only = try #require(outcome.requests.first)
        #expect(outcome.requests.count == 1)
        #expect(only.method == "GET")
        #expect(only.target == "/index.html")
        #expect(only.version == .http1_1)
        #expect(only.fields == [HTTPHeaders.Field(name: "Host", value: "example.com")])
        #expect(only.framing == .none)
        #expect(only.body.isEmpty)
        #expect(only.ended)
    }

    @Test func headersKeepTheirOrderSpellingAndDuplicates() throws {
        let outcome = parse(request("GET / HTTP/1.1", "Host: a", "X-Trace-ID: 42", "accept: text/html",
                                    "Accept: application/json", "Cookie: a=1; b=2"))
        let only = try #require(outcome.requests.first)
        #expect(only.fields.map(\.name) == ["Host", "X-Trace-ID", "accept", "Accept", "Cookie"])
        #expect(only.fields.map(\.value) == ["a", "42", "text/html", "application/json", "a=1; b=2"])
    }

    @Test func headerValuesLoseSurroundingWhitespaceButKeepInnerWhitespace() throws {
        let outcome = parse(request("GET / HTTP/1.1", "Host:a", "X-Spaces:   two  words   ", "X-Tabs:\tin\tside\t",
                                    "X-Empty:", "X-Blank:    "))
        let only = try #require(outcome.requests.first)
        #expect(only.fields.map(\.value) == ["a", "two  words", "in\tside", "", ""])
    }

    @Test func headerValuesMayCarryObsText() throws {
        var bytes = Array("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf".utf8)
        bytes += [0xC3, 0xA9]
        bytes += Array("\r\n\r\n".utf8)
        let only = try #require(parse(bytes).requests.first)
        #expect(only.fields.last == HTTPHeaders.Field(name: "X-Name", value: "café"))
    }

    @Test func headerNamesAcceptEveryTokenCharacter() throws {
        let name = "!#$%&'*+-.^_`|~0aZ"
        let only = try #require(parse(request("GET / HTTP/1.1", "Host: a", "\(name): v")).requests.first)
        #expect(only.fields.last == HTTPHeaders.Field(name: name, value: "v"))
    }

    @Test(arguments: ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "M-SEARCH"])
    func methodsAreAnyToken(method: String) throws {
        let only = try #require(parse(request("\(method) / HTTP/1.1", "Host: a")).requests.first)
        #expect(only.method == method)
    }

    @Test func knownMethodsCompareEqualToTheirConstants() {
        var parser = HTTPRequestParser()
        let bytes = request("POST /form HTTP/1.1", "Host: a", "Content-Length: 0")
        let method = bytes.withUnsafeBytes { input -> HTTPMethod? in
            guard case .head(let head, _)? = try? parser.next(input).event else { return nil }
            return head.method
        }
        #expect(method == .post)
    }

    /// Origin-form and asterisk-form are kept as sent; the absolute-form becomes its path
    /// (RequestTargetTests); the authority-form is CONNECT's.
    @Test(arguments: ["/", "*", "/a/b/c?x=1&y=%20", "/~user/;p=1"])
    func targetsAreKeptAsSent(target: String) throws {
        let only = try #require(parse(request("OPTIONS \(target) HTTP/1.1", "Host: a")).requests.first)
        #expect(only.target == target)
    }

    @Test func connectKeepsItsAuthorityForm() throws {
        let only = try #require(parse(request("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443")).requests.first)
        #expect(only.target == "example.com:443")
    }

    @Test func http10NeedsNoHost() throws {
        let outcome = parse(request("GET /old HTTP/1.0", "User-Agent: ancient"))
        #expect(outcome.error == nil)
        let only = try #require(outcome.requests.first)
        #expect(only.version == .http1_0)
        #expect(only.ended)
    }

    @Test func emptyLinesBeforeTheRequestLineAreIgnored() throws {
        let bytes = Array("\r\n\r\n\r\n".utf8) + request("GET / HTTP/1.1", "Host: a")
        let whole = parse(bytes)
        #expect(whole.error == nil)
        #expect(whole.requests.count == 1)
        #expect(whole.requests.first?.ended == true)
        #expect(parseIncrementally(bytes) == whole)
    }

    @Test func emptyLinesBetweenPipelinedRequestsAreIgnored() {
        let bytes = request("GET /a HTTP/1.1", "Host: a") + Array("\r\n".utf8) + request("GET /b HTTP/1.1", "Host: a")
        let outcome = parse(bytes)
        #expect(outcome.error == nil)
        #expect(outcome.requests.map(\.target) == ["/a", "/b"])
    }

    @Test func anIncompleteHeadWaitsWithoutConsuming() {
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8)
        let outcome = parse(bytes)
        #expect(outcome.error == nil)
        #expect(outcome.requests.isEmpty)
        #expect(outcome.unconsumedBytes == bytes.count)
        #expect(!outcome.parserIsIdle)
    }

    @Test func isIdleOnlyBetweenMessages() {
        #expect(HTTPRequestParser().isIdle)
        #expect(!parse(Array("G".utf8)).parserIsIdle)
        #expect(parse(Array("\r\n".utf8)).parserIsIdle)
        #expect(!parse(request("POST / HTTP/1.1", "Host: a", "Content-Length: 5", body: "ab")).parserIsIdle)
        #expect(parse(request("POST / HTTP/1.1", "Host: a", "Content-Length: 5", body: "abcde")).parserIsIdle)
    }
}

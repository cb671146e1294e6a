import CourierHTTP
import Testing

private func head(_ fields: (String, String)..., target: String = "/", version: HTTPVersion = .http1_1) -> HTTPRequestHead {
    HTTPRequestHead(method: .get, target: target, version: version, headers: HTTPHeaders(fields))
}

@Suite struct HTTPRequestHeadTests {
    @Test(arguments: [
        ("/", "/", ""),
        ("/a/b", "/a/b", ""),
        ("/search?q=swift&page=2", "/search", "q=swift&page=2"),
        ("/a%20b?x=%3F", "/a%20b", "x=%3F"),
        ("/empty?", "/empty", ""),
        ("/two?marks?here", "/two", "marks?here"),
        ("?only=query", "", "only=query"),
        ("*", "*", ""),
    ])
    func pathAndQuerySplitAtTheFirstQuestionMark(target: String, path: String, query: String) {
        let head = head(target: target)
        #expect(head.path == path[...])
        #expect(head.query == query[...])
    }

    @Test func pathAndQueryComeFromAParsedTarget() throws {
        var parser = HTTPRequestParser()
        let bytes = request("GET /caf%C3%A9/menu?lang=fr&x HTTP/1.1", "Host: a")
        let parsed = bytes.withUnsafeBytes { input -> HTTPRequestHead? in
            guard case .head(let head, _)? = try? parser.next(input).event else { return nil }
            return head
        }
        let parsedHead = try #require(parsed)
        #expect(parsedHead.path == "/caf%C3%A9/menu")
        #expect(parsedHead.query == "lang=fr&x")
    }

    @Test func http11KeepsTheConnectionUnlessToldToClose() {
        #expect(head().wantsKeepAlive)
        #expect(head(("Connection", "keep-alive")).wantsKeepAlive)
        #expect(head(("Connection", "Upgrade")).wantsKeepAlive)
        #expect(!head(("Connection", "close")).wantsKeepAlive)
        #expect(!head(("connection", "CLOSE")).wantsKeepAlive)
        #expect(!head(("Connection", "Upgrade, close")).wantsKeepAlive)
        #expect(!head(("Connection", "keep-alive"), ("Connection", " Close ")).wantsKeepAlive)
        #expect(head(("Connection", "closed")).wantsKeepAlive)
    }

    @Test func http10ClosesUnlessToldToKeepAlive() {
        #expect(!head(version: .http1_0).wantsKeepAlive)
        #expect(head(("Connection", "keep-alive"), version: .http1_0).wantsKeepAlive)
        #expect(head(("Connection", "Keep-Alive"), version: .http1_0).wantsKeepAlive)
        #expect(!head(("Connection", "keep-alive, close"), version: .http1_0).wantsKeepAlive)
        #expect(!head(("Keep-Alive", "timeout=5"), version: .http1_0).wantsKeepAlive)
    }

    @Test func expectsContinueOnlyFor100ContinueOverHTTP11() {
        #expect(head(("Expect", "100-continue")).expectsContinue)
        #expect(head(("expect", "100-Continue")).expectsContinue)
        #expect(head(("Expect", " 100-continue ")).expectsContinue)
        #expect(!head().expectsContinue)
        #expect(!head(("Expect", "200-ok")).expectsContinue)
        #expect(!head(("Expect", "100-continue-please")).expectsContinue)
        #expect(!head(("Expect", "100-continue"), version: .http1_0).expectsContinue)
    }
}

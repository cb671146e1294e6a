import CourierHTTP
import Testing

@Suite struct HTTPHeadersTests {
    @Test func lookupIsCaseInsensitiveAndReturnsTheFirstValue() {
        let headers: HTTPHeaders = ["Content-Type": "text/plain", "X-Tag": "one", "x-tag": "two"]
        #expect(headers["content-type"] == "text/plain")
        #expect(headers["CONTENT-TYPE"] == "text/plain")
        #expect(headers["X-TAG"] == "one")
        #expect(headers["Content-Length"] == nil)
        #expect(headers.values("x-Tag") == ["one", "two"])
        #expect(headers.values("Missing").isEmpty)
        #expect(headers.contains("x-tag"))
        #expect(!headers.contains("X-Ta"))
        #expect(headers.count == 3)
    }

    @Test func namesDifferingOnlyInNonLettersAreDifferent() {
        let headers: HTTPHeaders = ["X-A": "dash", "X@A": "at", "X[A": "bracket"]
        #expect(headers["X_A"] == nil)
        #expect(headers["X`A"] == nil)
        #expect(headers["X{A"] == nil)
        #expect(headers["x-a"] == "dash")
        #expect(headers["x@a"] == "at")
        #expect(headers["x[a"] == "bracket")
    }

    @Test func nonASCIINamesCompareByteForByte() {
        let headers: HTTPHeaders = ["X-Café": "1"]
        #expect(headers["x-café"] == "1")
        #expect(headers["X-CafÉ"] == nil)
    }

    @Test func fieldsKeepTheirOrder() {
        var headers = HTTPHeaders()
        headers.add("B", "1")
        headers.add("A", "2")
        headers.add("b", "3")
        #expect(headers.fields.map(\.name) == ["B", "A", "b"])
        #expect(headers.map(\.value) == ["1", "2", "3"])
        #expect(headers.description == "B: 1\nA: 2\nb: 3")
    }

    @Test func setReplacesEveryEarlierValue() {
        var headers: HTTPHeaders = ["Set-Cookie": "a=1", "Other": "x", "set-cookie": "b=2"]
        headers.set("SET-COOKIE", "c=3")
        #expect(headers.values("Set-Cookie") == ["c=3"])
        #expect(headers.fields.map(\.name) == ["Other", "SET-COOKIE"])
    }

    @Test func removeTakesEveryValue() {
        var headers: HTTPHeaders = ["A": "1", "b": "2", "a": "3"]
        headers.remove("a")
        #expect(headers.fields == [HTTPHeaders.Field(name: "b", value: "2")])
        headers.remove("missing")
        #expect(headers.count == 1)
    }

    @Test func tokensAreFoundInCommaSeparatedLists() {
        let headers: HTTPHeaders = ["Connection": "keep-alive, Upgrade", "Upgrade": "websocket", "connection": "x,close ,"]
        #expect(headers.containsToken("upgrade", in: "connection"))
        #expect(headers.containsToken("Keep-Alive", in: "Connection"))
        #expect(headers.containsToken("close", in: "Connection"))
        #expect(headers.containsToken("WebSocket", in: "Upgrade"))
        #expect(!headers.containsToken("keep", in: "Connection"))
        #expect(!headers.containsToken("websocket", in: "Connection"))
        #expect(!headers.containsToken("upgrade", in: "Missing"))
    }

    @Test func initialisersAgree() {
        let literal: HTTPHeaders = ["A": "1", "B": "2"]
        let pairs = HTTPHeaders([("A", "1"), ("B", "2")])
        #expect(literal.fields == pairs.fields)
        #expect(HTTPHeaders().count == 0)
    }
}

import CourierHTTP
import Testing

@Suite struct ContentLengthBodyTests {
    @Test func aBodyOfExactlyContentLengthBytes() throws {
        let outcome = parse(request("POST /echo HTTP/1.1", "Host: a", "Content-Length: 13", body: "hello, world!"))
        #expect(outcome.error == nil)
        let only = try #require(outcome.requests.first)
        #expect(only.framing == .length(13))
        #expect(only.bodyText == "hello, world!")
        #expect(only.ended)
        #expect(outcome.unconsumedBytes == 0)
    }

    @Test func aBodyMayHoldAnyByte() throws {
        let body: [UInt8] = Array(0...255) + [0x0D, 0x0A, 0x0D, 0x0A, 0x00]
        let bytes = request("POST / HTTP/1.1", "Host: a", "Content-Length: \(body.count)") + body
        let only = try #require(parse(bytes).requests.first)
        #expect(only.body == body)
        #expect(only.ended)
        #expect(parseIncrementally(bytes) == parse(bytes))
    }

    @Test func zeroLengthEndsAtOnce() throws {
        let outcome = parse(request("POST / HTTP/1.1", "Host: a", "Content-Length: 0"))
        let only = try #require(outcome.requests.first)
        #expect(only.framing == .length(0))
        #expect(only.body.isEmpty)
        #expect(only.ended)
    }

    @Test func leadingZerosAreAllowed() throws {
        let only = try #require(parse(request("POST / HTTP/1.1", "Host: a", "Content-Length: 007", body: "1234567")).requests.first)
        #expect(only.framing == .length(7))
        #expect(only.bodyText == "1234567")
    }

    @Test func bytesBeyondTheBodyBelongToTheNextRequest() {
        let bytes = request("POST /a HTTP/1.1", "Host: a", "Content-Length: 3", body: "abc")
            + request("GET /b HTTP/1.1", "Host: a")
        let outcome = parse(bytes)
        #expect(outcome.requests.map(\.target) == ["/a", "/b"])
        #expect(outcome.requests.map(\.bodyText) == ["abc", ""])
        #expect(outcome.requests.allSatisfy { $0.ended })
    }

    @Test func aRequestWithoutFramingHasNoBody() {
        // RFC 9112 §6.3: neither Content-Length nor Transfer-Encoding means length zero, so what
        // follows is the next request.
        let bytes = request("POST /a HTTP/1.1", "Host: a") + request("GET /b HTTP/1.1", "Host: a")
        let outcome = parse(bytes)
        #expect(outcome.requests.map(\.framing) == [.none, .none])
        #expect(outcome.requests.map(\.target) == ["/a", "/b"])
    }

    @Test func aBodyArrivingInPiecesIsDeliveredAsItComes() {
        var feeder = ParserFeeder()
        feeder.feed(request("PUT / HTTP/1.1", "Host: a", "Content-Length: 10", body: "0123"))
        #expect(feeder.outcome.requests.first?.bodyText == "0123")
        #expect(feeder.outcome.requests.first?.ended == false)
        #expect(feeder.outcome.unconsumedBytes == 0)
        #expect(!feeder.outcome.parserIsIdle)
        feeder.feed(Array("4567".utf8))
        #expect(feeder.outcome.requests.first?.bodyText == "01234567")
        #expect(feeder.outcome.requests.first?.ended == false)
        feeder.feed(Array("89GET".utf8))
        #expect(feeder.outcome.requests.first?.bodyText == "0123456789")
        #expect(feeder.outcome.requests.first?.ended == true)
        #expect(feeder.outcome.unconsumedBytes == 3)
        #expect(feeder.outcome.error == nil)
    }

    @Test func identicalDuplicateLengthsAreAccepted() throws {
        let separate = parse(request("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 5", body: "hello"))
        #expect(separate.error == nil)
        #expect(separate.requests.first?.framing == .length(5))
        #expect(separate.requests.first?.bodyText == "hello")
        let listed = parse(request("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 5", body: "hello"))
        #expect(listed.error == nil)
        #expect(listed.requests.first?.framing == .length(5))
    }

    @Test func theLengthHeaderNameIsCaseInsensitive() {
        let outcome = parse(request("POST / HTTP/1.1", "host: a", "content-length: 2", body: "hi"))
        #expect(outcome.requests.first?.bodyText == "hi")
    }

    @Test func aLargeButRepresentableLengthIsAccepted() {
        let outcome = parse(request("POST / HTTP/1.1", "Host: a", "Content-Length: 999999999999999999", body: "abc"))
        #expect(outcome.error == nil)
        #expect(outcome.requests.first?.framing == .length(999_999_999_999_999_999))
        #expect(outcome.requests.first?.bodyText == "abc")
        #expect(outcome.requests.first?.ended == false)
    }
}

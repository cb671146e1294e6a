import CourierHTTP
import Testing

/// Requests as a client might send them back to back, covering every framing.
private let pipeline: [UInt8] =
    Array("\r\n".utf8)
    + request("GET /first?x=1 HTTP/1.1", "Host: example.com", "Accept: */*")
    + request("POST /form HTTP/1.1", "Host: example.com", "Content-Length: 11", body: "a=1&b=2\r\n\r\n")
    + request("PUT /upload HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked",
              body: "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Sum: 9\r\n\r\n")
    + request("GET /old HTTP/1.0")
    + request("DELETE /last HTTP/1.1", "Host: example.com", "Content-Length: 0")

@Suite struct PipeliningTests {
    @Test func pipelinedRequestsInOneBufferComeOutInOrder() {
        let outcome = parse(pipeline)
        #expect(outcome.error == nil)
        #expect(outcome.unconsumedBytes == 0)
        #expect(outcome.requests.map(\.target) == ["/first?x=1", "/form", "/upload", "/old", "/last"])
        #expect(outcome.requests.map(\.method) == ["GET", "POST", "PUT", "GET", "DELETE"])
        #expect(outcome.requests.map(\.framing) == [.none, .length(11), .chunked, .none, .length(0)])
        #expect(outcome.requests.map(\.bodyText) == ["", "a=1&b=2\r\n\r\n", "Wikipedia in\r\n\r\nchunks.", "", ""])
        #expect(outcome.requests.allSatisfy { $0.ended })
        #expect(outcome.parserIsIdle)
    }

    @Test func byteAtATimeGivesTheSameResultAsAllAtOnce() {
        #expect(parseIncrementally(pipeline, step: 1) == parse(pipeline))
    }

    @Test(arguments: 2...13)
    func anyReadSizeGivesTheSameResult(step: Int) {
        #expect(parseIncrementally(pipeline, step: step) == parse(pipeline))
    }

    @Test func aSplitAtEveryByteGivesTheSameResult() {
        let whole = parse(pipeline)
        for index in 0...pipeline.count {
            let split = parse(pipeline, splitAt: index)
            #expect(split == whole, "split at \(index)")
            if split != whole { break }
        }
    }

    @Test func aRequestAfterAnErrorIsNeverParsed() {
        let bytes = request("GET /a HTTP/1.1", "Host: a") + request("GET /b HTTP/1.1", "Host : a")
            + request("GET /c HTTP/1.1", "Host: a")
        let outcome = parse(bytes)
        #expect(outcome.status == 400)
        #expect(outcome.requests.map(\.target) == ["/a"])
    }
}

import CourierTesting
import Testing

extension HTTPServerTests {
    @Suite struct BodyTests {
        @Test func contentLengthBodyIsEchoed() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                #expect(client.send(request("POST", "/echo", body: "hello world")))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello world")
            }
        }

        @Test func largeBinaryBodyArrivingInPiecesIsEchoedExactly() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                var generator = SplitMix64(seed: 7)
                let body = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
                #expect(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n"))
                for start in stride(from: 0, to: body.count, by: 70_001) {
                    #expect(client.send(Array(body[start..<min(start + 70_001, body.count)])))
                }
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.body == body)
            }
        }

        @Test func chunkedBodyIsEchoed() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                let chunks = "5\r\nhello\r\n1;note=x\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n"
                #expect(client.send(request("POST", "/echo", headers: ["Transfer-Encoding: chunked"], body: chunks)))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello 0123456789")
                // The connection is still in step after the trailers.
                #expect(client.send(request("/hello")))
                #expect(try client.readResponse().text == "hello")
            }
        }

        @Test func emptyChunkedBodyIsEchoedAsEmpty() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                #expect(client.send(request("POST", "/echo", headers: ["Transfer-Encoding: chunked"], body: "0\r\n\r\n")))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.body.isEmpty)
                #expect(response.headers["Content-Length"] == "0")
            }
        }

        @Test func streamedResponseIsChunkedAndKeepsTheConnection() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                for _ in 0..<2 {
                    #expect(client.send(request("/stream")))
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    #expect(response.headers["Transfer-Encoding"] == "chunked")
                    #expect(response.headers["Content-Length"] == nil)
                    #expect(response.text == (0..<5).map { "part \($0)\n" }.joined())
                }
                #expect(client.send(request("/hello")))
                #expect(try client.readResponse().text == "hello")
            }
        }

        /// RFC 9112 §6.1: no Transfer-Encoding to a client that did not say HTTP/1.1.
        @Test func streamedResponseToHTTP10IsDelimitedByClose() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(client.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.headers["Transfer-Encoding"] == nil)
                #expect(response.headers["Connection"] == "close")
                #expect(response.text == (0..<5).map { "part \($0)\n" }.joined())
                #expect(client.peerClosed)
            }
        }

        @Test func expectContinueGetsInterimResponseThenTheFinalOne() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                #expect(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n"))
                let interim = try client.readResponse()
                #expect(interim.status == 100)
                #expect(client.send("payload"))
                let final = try client.readResponse()
                #expect(final.status == 200)
                #expect(final.text == "payload")
            }
        }

        @Test func expectContinueWithoutABodyGetsOnlyTheFinalResponse() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                #expect(client.send("GET /hello HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n" + request("/n/2")))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello")
                #expect(try client.readResponse().text == "n=2")
            }
        }

        @Test func expectContinueWithTooLargeBodyGets413AndNo100() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                let head = "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \((1 << 20) + 1)\r\n\r\n"
                #expect(client.send(head))
                let response = try client.readResponse()
                #expect(response.status == 413)
                #expect(response.headers["Connection"] == "close")
                #expect(client.waitForClose())
            }
        }

        @Test func expectContinueOverARouteLimitGets413AndNo100() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(client.send("POST /small HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"))
                #expect(try client.readResponse().status == 413)
                #expect(client.waitForClose())
            }
        }
    }
}

import CourierTesting
import Testing

extension HTTPServerTests {
    @Suite struct KeepAliveTests {
        @Test func severalRequestsShareOneConnection() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                for index in 1...5 {
                    #expect(client.send(request("/n/\(index)")))
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    #expect(response.text == "n=\(index)")
                    #expect(response.headers["Connection"] == nil)
                }
            }
        }

        @Test func pipelinedResponsesComeBackInRequestOrder() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                #expect(client.send((1...10).map { request("/n/\($0)") }.joined()))
                for index in 1...10 {
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    #expect(response.text == "n=\(index)")
                }
            }
        }

        @Test func slowAsyncResponseIsNotOvertakenBySyncOne() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                #expect(client.send(request("/slow") + request("/hello") + request("/slow") + request("/n/4")))
                #expect(try client.readResponse().text == "slow")
                #expect(try client.readResponse().text == "hello")
                #expect(try client.readResponse().text == "slow")
                #expect(try client.readResponse().text == "n=4")
            }
        }

        @Test func pipelinedBodiesStayWithTheirRequests() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                let chunked = request("POST", "/echo", headers: ["Transfer-Encoding: chunked"],
                                      body: "3\r\ntwo\r\n0\r\n\r\n")
                #expect(client.send(request("POST", "/echo", body: "one") + chunked + request("POST", "/echo", body: "three")))
                #expect(try client.readResponse().text == "one")
                #expect(try client.readResponse().text == "two")
                #expect(try client.readResponse().text == "three")
            }
        }

        @Test func connectionCloseIsHonouredAndNothingAfterItIsAnswered() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(client.send(request("/hello", headers: ["Connection: close"]) + request("/n/2")))
                let response = try client.readResponse()
                #expect(response.text == "hello")
                #expect(response.headers["Connection"] == "close")
                #expect(client.waitForClose())
                #expect(client.readUntilClose().isEmpty)
            }
        }

        /// `printf '...' | nc` style: the client half-closes right after writing its requests.
        @Test(arguments: ["/hello", "/slow"])
        func requestsFollowedByHalfCloseAreAllAnswered(first: String) async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(client.send(request(first) + request("/n/2") + request("/n/3")))
                client.shutdownWrite()
                #expect(try client.readResponse().text == String(first.dropFirst()))
                #expect(try client.readResponse().text == "n=2")
                #expect(try client.readResponse().text == "n=3")
                #expect(client.waitForClose())
                #expect(client.readUntilClose().isEmpty)
            }
        }

        /// The answer may still be queued when the half-close arrives; it must not be cut short.
        /// Which sizes leave some of it queued depends on the kernel's socket buffers, so a
        /// range of sizes is tried.
        @Test(arguments: [64] + Array(stride(from: 2048, through: 8192, by: 256)))
        func bigResponseToAHalfClosedClientArrivesWhole(kib: Int) async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(client.send(request("/big/\(kib)")))
                client.shutdownWrite()
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.body.count == kib * 1024)
                #expect(client.waitForClose())
            }
        }

        @Test func slowRequestFollowedByHalfCloseIsAnsweredThenClosed() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(client.send(request("/slow")))
                client.shutdownWrite()
                let response = try client.readResponse()
                #expect(response.text == "slow")
                #expect(response.headers["Connection"] == "close")
                #expect(client.waitForClose())
            }
        }

        @Test func headHasContentLengthButNoBody() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                #expect(client.send(request("HEAD", "/hello")))
                let head = try client.readResponse(forHead: true)
                #expect(head.status == 200)
                #expect(head.headers["Content-Length"] == "5")
                // Had the server sent a body, it would be read here as the next status line.
                #expect(client.send(request("/hello")))
                let next = try client.readResponse()
                #expect(next.status == 200)
                #expect(next.text == "hello")
            }
        }

        @Test func headOfAStreamedRouteSendsNoBody() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                #expect(client.send(request("HEAD", "/stream") + request("/n/2")))
                let head = try client.readResponse(forHead: true)
                #expect(head.status == 200)
                #expect(head.headers["Transfer-Encoding"] == nil)
                let next = try client.readResponse()
                #expect(next.text == "n=2")
            }
        }

        @Test func http10ClosesAfterTheResponse() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(client.send("GET /hello HTTP/1.0\r\n\r\n"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello")
                #expect(response.headers["Connection"] == "close")
                #expect(client.waitForClose())
            }
        }

        @Test func http10KeepAliveIsEchoedAndKept() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                for _ in 0..<3 {
                    #expect(client.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
                    let response = try client.readResponse()
                    #expect(response.text == "hello")
                    #expect(response.headers["Connection"]?.lowercased() == "keep-alive")
                }
                #expect(client.send("GET /n/last HTTP/1.0\r\n\r\n"))
                #expect(try client.readResponse().text == "n=last")
                #expect(client.waitForClose())
            }
        }
    }
}

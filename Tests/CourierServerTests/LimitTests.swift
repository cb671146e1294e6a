import CourierTesting
import Testing

extension HTTPServerTests {
    @Suite struct LimitTests {
        /// Sends `text` and expects `status`, a `Connection: close`, and the connection closed.
        private func expectRejection(_ text: String, status: Int, port: Int) throws {
            let client = try RawClient(port: port, timeoutSeconds: 5)
            client.send(text)
            let response = try client.readResponse()
            #expect(response.status == status)
            #expect(response.headers["Connection"] == "close")
            #expect(client.waitForClose())
        }

        // MARK: Request line (8 KiB, 414)

        @Test func requestLineOfExactly8KiBIsAccepted() async throws {
            try await withServer { server in
                let target = "/" + String(repeating: "a", count: 8192 - "GET / HTTP/1.1".utf8.count)
                let text = request(target)
                #expect(Array(text.utf8).firstIndex(of: 0x0D) == 8192)
                let client = try RawClient(port: server.port)
                client.send(text)
                #expect(try client.readResponse().status == 404)
            }
        }

        @Test func requestLineOver8KiBGets414() async throws {
            try await withServer { server in
                let target = "/" + String(repeating: "a", count: 8193 - "GET / HTTP/1.1".utf8.count)
                try expectRejection(request(target), status: 414, port: server.port)
            }
        }

        @Test func unfinishedRequestLineOver8KiBGets414WithoutWaitingForItsEnd() async throws {
            try await withServer { server in
                try expectRejection("GET /" + String(repeating: "a", count: 9000), status: 414, port: server.port)
            }
        }

        // MARK: Header block (16 KiB or 100 fields, 431)

        @Test func headerBlockJustUnder16KiBIsAccepted() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                // 15 fields of 1000 bytes plus Host: about 15 KiB.
                let fields = (0..<15).map { "X-Field-\($0): " + String(repeating: "v", count: 1000 - 14) }
                client.send(request("/hello", headers: fields))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "hello")
            }
        }

        @Test func headerBlockOver16KiBGets431() async throws {
            try await withServer { server in
                let fields = (0..<20).map { "X-Field-\($0): " + String(repeating: "v", count: 1000) }
                try expectRejection(request("/hello", headers: fields), status: 431, port: server.port)
            }
        }

        @Test func unfinishedHeaderBlockOver16KiBGets431WithoutWaitingForItsEnd() async throws {
            try await withServer { server in
                let text = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Endless: " + String(repeating: "v", count: 17 * 1024)
                try expectRejection(text, status: 431, port: server.port)
            }
        }

        @Test func oneHundredHeaderFieldsAreAccepted() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                // Host is the hundredth.
                client.send(request("/hello", headers: (1..<100).map { "X-F\($0): v" }))
                #expect(try client.readResponse().status == 200)
            }
        }

        @Test func oneHundredAndOneHeaderFieldsGet431() async throws {
            try await withServer { server in
                try expectRejection(request("/hello", headers: (1...100).map { "X-F\($0): v" }), status: 431, port: server.port)
            }
        }

        // MARK: Body (1 MiB by default, per route, 413)

        @Test func bodyOfExactly1MiBIsAccepted() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                let body = String(repeating: "b", count: 1 << 20)
                client.send(request("POST", "/echo", body: body))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.body.count == 1 << 20)
            }
        }

        @Test func contentLengthOver1MiBGets413BeforeTheBodyIsSent() async throws {
            try await withServer { server in
                try expectRejection("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \((1 << 20) + 1)\r\n\r\n",
                                    status: 413, port: server.port)
            }
        }

        @Test func chunkedBodyOfExactly1MiBIsAccepted() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                let chunk = "10000\r\n" + String(repeating: "c", count: 0x10000) + "\r\n"
                client.send(request("POST", "/echo", headers: ["Transfer-Encoding: chunked"],
                                    body: String(repeating: chunk, count: 16) + "0\r\n\r\n"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.body.count == 1 << 20)
            }
        }

        @Test func chunkedBodyGrowingPast1MiBGets413() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                client.send(request("POST", "/echo", headers: ["Transfer-Encoding: chunked"]))
                let chunk = "10000\r\n" + String(repeating: "c", count: 0x10000) + "\r\n"
                for _ in 0..<16 { client.send(chunk) }
                client.send("1\r\nc\r\n")
                let response = try client.readResponse()
                #expect(response.status == 413)
                #expect(response.headers["Connection"] == "close")
                #expect(client.waitForClose())
            }
        }

        @Test func routeBodyLimitAcceptsUpToItsSize() async throws {
            try await withServer { server in
                let client = try RawClient(port: server.port)
                client.send(request("POST", "/small", body: "0123456789"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "0123456789")
                // Eleven bytes are fine where no route limit applies.
                client.send(request("POST", "/echo", body: "0123456789A"))
                #expect(try client.readResponse().text == "0123456789A")
            }
        }

        @Test func routeBodyLimitRejectsContentLengthOverIt() async throws {
            try await withServer { server in
                try expectRejection(request("POST", "/small", body: "0123456789A"), status: 413, port: server.port)
            }
        }

        @Test func routeBodyLimitRejectsChunkedBodyOverIt() async throws {
            try await withServer { server in
                try expectRejection(request("POST", "/small", headers: ["Transfer-Encoding: chunked"],
                                            body: "6\r\n012345\r\n5\r\n6789A\r\n0\r\n\r\n"),
                                    status: 413, port: server.port)
            }
        }
    }
}

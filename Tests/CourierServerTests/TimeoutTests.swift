import CourierServer
import CourierTesting
import Glibc
import Testing

extension HTTPServerTests {
    @Suite struct TimeoutTests {
        @Test func unfinishedHeadGets408ThenClose() async throws {
            try await withServer(configuration: .forTests(headerTimeoutMilliseconds: 300)) { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                var response: TestResponse?
                let elapsed = try milliseconds {
                    client.send("GET /hello HTTP/1.1\r\nHost: x\r\n")
                    response = try client.readResponse()
                }
                #expect(response?.status == 408)
                #expect(response?.headers["Connection"] == "close")
                #expect(elapsed >= 250, "408 came after \(elapsed) ms, before the 300 ms timeout")
                #expect(client.waitForClose())
            }
        }

        /// The start of a next request that came with the one before (pipelined) is a request
        /// in progress: when it stalls, 408 at the header timeout, not a silent idle close.
        @Test(arguments: [true, false])
        func unfinishedNextRequestGets408(sameWrite: Bool) async throws {
            try await withServer(configuration: .forTests(headerTimeoutMilliseconds: 300, idleTimeoutMilliseconds: 5_000)) { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                let first = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", next = "GET /hel"
                if sameWrite {
                    client.send(first + next)
                    #expect(try client.readResponse().text == "hello")
                } else {
                    client.send(first)
                    #expect(try client.readResponse().text == "hello")
                    client.send(next)
                }
                var response: TestResponse?
                let elapsed = try milliseconds { response = try client.readResponse() }
                #expect(response?.status == 408)
                #expect(elapsed < 2_000, "408 came after \(elapsed) ms, not at the 300 ms header timeout")
                #expect(client.waitForClose())
            }
        }

        @Test func stalledBodyGets408ThenClose() async throws {
            try await withServer(configuration: .forTests(headerTimeoutMilliseconds: 300)) { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf!")
                let response = try client.readResponse()
                #expect(response.status == 408)
                #expect(client.waitForClose())
            }
        }

        @Test func slowButSteadyBodyIsNotCutOff() async throws {
            try await withServer(configuration: .forTests(headerTimeoutMilliseconds: 400)) { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n")
                // Each piece comes well within the timeout of the one before; together they take longer.
                for piece in ["ab", "cd", "ef"] {
                    usleep(150_000)
                    client.send(piece)
                }
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "abcdef")
            }
        }

        @Test func silentConnectionIsClosedAfterTheHeaderTimeout() async throws {
            try await withServer(configuration: .forTests(headerTimeoutMilliseconds: 300)) { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                #expect(client.waitForClose())
                let received = client.readUntilClose()
                #expect(received.isEmpty || received.starts(with: Array("HTTP/1.1 408 ".utf8)))
            }
        }

        @Test func handlerSlowerThanTheTimeoutsIsNotCutOff() async throws {
            let configuration = ServerConfiguration.forTests(headerTimeoutMilliseconds: 100, idleTimeoutMilliseconds: 100)
            try await withServer(configuration: configuration) { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                // Both wait behind the 300 ms handler, longer than either timeout.
                client.send(request("/slow") + request("/n/2"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "slow")
                #expect(try client.readResponse().text == "n=2")
            }
        }

        @Test func idleKeepAliveConnectionIsClosedSilently() async throws {
            let configuration = ServerConfiguration.forTests(headerTimeoutMilliseconds: 5_000, idleTimeoutMilliseconds: 300)
            try await withServer(configuration: configuration) { server in
                let client = try RawClient(port: server.port, timeoutSeconds: 5)
                client.send(request("/hello"))
                #expect(try client.readResponse().text == "hello")
                var closed = false
                let elapsed = milliseconds { closed = client.waitForClose() }
                #expect(closed)
                #expect(elapsed >= 250, "closed after \(elapsed) ms, before the 300 ms idle timeout")
                #expect(client.readUntilClose().isEmpty, "an idle close sends nothing")
            }
        }

        @Test func headerBytesArrivingOneAtATimeStillMakeARequest() async throws {
            try await withServer(configuration: .forTests(headerTimeoutMilliseconds: 3_000)) { server in
                let client = try RawClient(port: server.port)
                let text = request("POST", "/echo", headers: ["X-Slow: yes", "Transfer-Encoding: chunked"],
                                   body: "4\r\nslow\r\n0\r\n\r\n")
                for byte in text.utf8 {
                    #expect(client.send([byte]))
                    usleep(500)
                }
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "slow")
                client.send(request("/hello"))
                #expect(try client.readResponse().text == "hello")
            }
        }
    }
}

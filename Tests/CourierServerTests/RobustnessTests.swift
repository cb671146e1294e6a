import CourierTesting
import CourierLoop
import Dispatch
import Synchronization
import Testing

extension HTTPServerTests {
    @Suite struct RobustnessTests {
        /// A client pipelines far more response bytes than any buffer should hold and reads none.
        /// The server must stop reading from it rather than buffer without bound or stall its loop.
        @Test func clientThatNeverReadsDoesNotStallOthers() async throws {
            try await withServer { server in
                let greedy = try RawClient(port: server.port, timeoutSeconds: 2)
                // 2,000 requests for 1 MiB each: 2 GiB of responses if the server buffered them all.
                let pipelined = String(repeating: request("/big/1024"), count: 2_000)
                let sender = DispatchQueue(label: "greedy-sender")
                sender.async { greedy.send(pipelined) }
                for _ in 0..<5 {
                    let other = try RawClient(port: server.port, timeoutSeconds: 5)
                    var response: TestResponse?
                    let elapsed = try milliseconds {
                        other.send(request("/hello"))
                        response = try other.readResponse()
                    }
                    #expect(response?.text == "hello")
                    #expect(elapsed < 1_000, "another client waited \(elapsed) ms")
                }
                // The greedy client still gets well-formed responses once it does read.
                greedy.setTimeout(seconds: 5)
                for _ in 0..<3 {
                    let response = try greedy.readResponse()
                    #expect(response.status == 200)
                    #expect(response.body.count == 1 << 20)
                }
                greedy.close()
                sender.sync {}
            }
        }

        /// Thousands of connections, each sending random bytes or a mutated valid request and then
        /// half-closing (one in ten just drops the connection). Whatever comes back must be HTTP,
        /// every connection must end, and the server must still answer normally afterwards.
        @Test func floodOfGarbageThenANormalRequest() async throws {
            try await withServer { server in
                let port = server.port
                let failures = Locked<[String]>([])
                DispatchQueue.concurrentPerform(iterations: 2) { lane in
                    var generator = SplitMix64(seed: 0xC0FFEE + UInt64(lane))
                    for index in 0..<1_500 {
                        let input = GarbageInputs.make(using: &generator)
                        let problem = Self.send(input, port: port, dropAtOnce: index % 10 == 0)
                        if let problem {
                            failures.withLock { $0.append("lane \(lane) input \(index) \(Array(input.prefix(80))): \(problem)") }
                        }
                    }
                }
                let problems = failures.withLock { $0 }
                #expect(problems.isEmpty, "\(problems.count) bad outcomes, first: \(problems.prefix(3))")

                let client = try RawClient(port: port)
                client.send(request("POST", "/echo", body: "still alive"))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "still alive")
            }
        }

        /// Sends `input` on a fresh connection, half-closes (or closes at once), and returns what
        /// went wrong, if anything.
        private static func send(_ input: [UInt8], port: Int, dropAtOnce: Bool) -> String? {
            let client: RawClient
            do {
                client = try RawClient(port: port, timeoutSeconds: 5)
            } catch {
                return "connect: \(error)"
            }
            client.send(input)
            if dropAtOnce { return nil }
            client.shutdownWrite()
            guard client.waitForClose() else { return "the server never closed the connection" }
            let received = client.readUntilClose()
            if !received.isEmpty, !received.starts(with: Array("HTTP/1.1 ".utf8)) {
                return "non-HTTP answer \(String(decoding: received.prefix(40), as: UTF8.self))"
            }
            return nil
        }
    }
}

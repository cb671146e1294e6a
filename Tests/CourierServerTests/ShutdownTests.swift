import Courier
import CourierTesting
import Dispatch
import Glibc
import Testing

extension HTTPServerTests {
    @Suite struct ShutdownTests {
        @Test func inFlightRequestFinishesNewConnectionsAreRefusedAndTheServerStops() async throws {
            let handlerStarted = DispatchSemaphore(value: 0)
            let app = Application()
            app.get("/hello") { _, response in response.write("hello") }
            app.get("/inflight") { _, response in
                handlerStarted.signal()
                try await Task.sleep(for: .milliseconds(500))
                response.write("finished")
            }
            let server = try app.start(configuration: .forTests())
            defer {
                server.shutdown()
                server.waitUntilStopped()
            }
            let port = server.port

            let idle = try RawClient(port: port, timeoutSeconds: 5)
            idle.send(request("/hello"))
            #expect(try idle.readResponse().text == "hello")
            let inFlight = try RawClient(port: port, timeoutSeconds: 5)
            inFlight.send(request("/inflight"))
            #expect(handlerStarted.wait(timeout: .now() + 5) == .success)

            server.shutdown()

            // The listener closes soon after shutdown(); poll until a connect is refused. A connect
            // racing the close can land in the backlog and be reset instead: poll past those.
            var refusal: RawClient.Failure?
            let deadline = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < deadline {
                do {
                    _ = try RawClient(port: port, timeoutSeconds: 1)
                } catch let failure as RawClient.Failure {
                    refusal = failure
                    if case .connect(let code) = failure, code == ECONNRESET { continue }
                    break
                }
            }
            if case .connect(let code) = refusal {
                #expect(code == ECONNREFUSED)
            } else {
                Issue.record("new connections were still accepted 3 s after shutdown()")
            }

            #expect(idle.waitForClose(), "an idle keep-alive connection closes at shutdown")
            let response = try inFlight.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "finished")
            #expect(response.headers["Connection"] == "close")
            #expect(inFlight.waitForClose())
            inFlight.close()
            #expect(completes(within: 5) { server.waitUntilStopped() })
        }

        /// A response the server has produced but the kernel has not yet taken is still in flight.
        @Test func responseStillBeingSentAtShutdownArrivesWhole() async throws {
            let handled = DispatchSemaphore(value: 0)
            let size = 16 << 20
            let app = Application()
            app.get("/download") { _, response in
                response.write([UInt8](repeating: UInt8(ascii: "d"), count: size))
                handled.signal()
            }
            let server = try app.start(configuration: .forTests())
            defer {
                server.shutdown()
                server.waitUntilStopped()
            }
            let client = try RawClient(port: server.port, timeoutSeconds: 5)
            client.send(request("/download"))
            #expect(handled.wait(timeout: .now() + 5) == .success)
            server.shutdown()
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.body.count == size)
            #expect(client.waitForClose())
            client.close()
            #expect(completes(within: 5) { server.waitUntilStopped() })
        }

        @Test func shutdownWithNoConnectionsStopsPromptly() async throws {
            let server = try makeTestApp().start(configuration: .forTests())
            let port = server.port
            let client = try RawClient(port: port)
            client.send(request("/hello"))
            #expect(try client.readResponse().text == "hello")
            client.close()
            server.shutdown()
            #expect(completes(within: 5) { server.waitUntilStopped() })
            #expect(throws: RawClient.Failure.self) { try RawClient(port: port) }
        }
    }
}

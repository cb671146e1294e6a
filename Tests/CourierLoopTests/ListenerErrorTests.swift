import CourierLoop
import Testing

/// Tries to open a second listener on the port of a first; both are closed again.
private func listenTwice(firstReusesPort: Bool, secondReusesPort: Bool, on loop: EventLoop) async -> Result<Int, UVError>? {
    await onLoop(loop) { (delivery: Delivery<Result<Int, UVError>>) in
        do throws(UVError) {
            let first = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: firstReusesPort) { $0.close() }
            defer { first.close() }
            do throws(UVError) {
                let second = try TCPListener(loop: loop, host: "127.0.0.1", port: first.port, reusePort: secondReusesPort) {
                    $0.close()
                }
                second.close()
                delivery.deliver(.success(second.port))
            } catch {
                delivery.deliver(.failure(error))
            }
        } catch {
            Issue.record("the first listener failed: \(error)")
        }
    }
}

private func listen(host: String, port: Int, on loop: EventLoop) async -> UVError?? {
    await onLoop(loop) { (delivery: Delivery<UVError?>) in
        do throws(UVError) {
            let listener = try TCPListener(loop: loop, host: host, port: port, reusePort: false) { $0.close() }
            listener.close()
            delivery.deliver(nil)
        } catch {
            delivery.deliver(error)
        }
    }
}

@Suite struct ListenerErrorTests {
    @Test func aPortInUseCannotBeBoundWithoutReusePort() async throws {
        try await withLoop { loop in
            let result = try #require(await listenTwice(firstReusesPort: false, secondReusesPort: false, on: loop))
            guard case .failure(let error) = result else {
                Issue.record("the second listener bound the same port")
                return
            }
            #expect(error.name == "EADDRINUSE")
            #expect(error.description.contains("bind 127.0.0.1:"))
            #expect(error.description.contains("EADDRINUSE"))
        }
    }

    @Test func aPortInUseCannotBeSharedByOnlyOneSide() async throws {
        try await withLoop { loop in
            let result = try #require(await listenTwice(firstReusesPort: true, secondReusesPort: false, on: loop))
            guard case .failure(let error) = result else {
                Issue.record("the second listener bound the same port")
                return
            }
            #expect(error.name == "EADDRINUSE")
        }
    }

    @Test func listenersThatBothReuseThePortShareIt() async throws {
        try await withLoop { loop in
            let result = try #require(await listenTwice(firstReusesPort: true, secondReusesPort: true, on: loop))
            guard case .success(let port) = result else {
                Issue.record("the second listener could not share the port: \(result)")
                return
            }
            #expect(port > 0)
        }
    }

    @Test(arguments: ["not-an-address", "256.0.0.1", "127.0.0", ""])
    func anInvalidAddressIsRefused(host: String) async throws {
        try await withLoop { loop in
            let error = try #require(await listen(host: host, port: 8080, on: loop))
            #expect(error?.name == "EINVAL")
            #expect(error?.description.contains(host) == true)
        }
    }

    @Test func localhostMeansLoopback() async throws {
        try await withLoop { loop in
            let error = try #require(await listen(host: "localhost", port: 0, on: loop))
            #expect(error == nil)
        }
    }

    @Test func errorsSayWhatTheKernelSaid() {
        let error = UVError(code: -98, operation: "bind 0.0.0.0:80")
        #expect(error.name == "EADDRINUSE")
        #expect(error.message == "address already in use")
        #expect(error.description == "bind 0.0.0.0:80: EADDRINUSE (address already in use)")
        #expect(!error.isEndOfFile)
        #expect(UVError(code: -4095, operation: "read").isEndOfFile)
        #expect(UVError(code: -125, operation: "write").isCancelled)
    }
}

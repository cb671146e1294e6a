import Courier
import CourierLoop
import CourierServer
import CourierTesting
import Testing

/// A second server started on a busy port is told so (EADDRINUSE), even though each server's
/// own workers share their port with SO_REUSEPORT. Sharing a port between processes (how one
/// machine holds more connections than one process may) is asked for by every side.
extension HTTPServerTests {
    @Suite struct PortSharingTests {
        static func configuration(port: Int, workers: Int, reusePort: Bool = false) -> ServerConfiguration {
            var configuration = ServerConfiguration.forTests(workers: workers)
            configuration.port = port
            configuration.reusePort = reusePort
            return configuration
        }

        @Test(arguments: [(1, 1), (2, 1), (1, 2), (2, 2)])
        func aSecondServerOnABusyPortFailsWithAddressInUse(first: Int, second: Int) async throws {
            try await withServer(configuration: Self.configuration(port: 0, workers: first)) { running in
                do {
                    let intruder = try makeTestApp().start(configuration: Self.configuration(port: running.port, workers: second))
                    intruder.shutdown()
                    intruder.waitUntilStopped()
                    Issue.record("a second server (\(second) workers) shared port \(running.port) with the first (\(first))")
                } catch let error as UVError {
                    #expect(error.name == "EADDRINUSE")
                    #expect(error.description.contains("address already in use"))
                }
                // The first server still has every connection.
                let client = try RawClient(port: running.port)
                client.send(request("/hello"))
                #expect(try client.readResponse().text == "hello")
            }
        }

        @Test func serversThatBothAskForReusePortShareIt() async throws {
            try await withServer(configuration: Self.configuration(port: 0, workers: 1, reusePort: true)) { first in
                let second = try makeTestApp().start(configuration: Self.configuration(port: first.port, workers: 2, reusePort: true))
                defer {
                    second.shutdown()
                    second.waitUntilStopped()
                }
                #expect(second.port == first.port)
                let client = try RawClient(port: first.port)
                client.send(request("/hello"))
                #expect(try client.readResponse().text == "hello")
            }
        }

    }
}

import CourierTesting
import Courier
import Glibc
import Testing

/// Keep-alive: a silent connection is pinged after pingIntervalMilliseconds, and closed if
/// nothing arrives within pongTimeoutMilliseconds of the ping. The server checks deadlines in
/// a sweep every 100 ms here (a quarter of a 400 ms header timeout).
@Suite struct IdleTimeoutTests {
    static let sweepMilliseconds = 100
    static let server = ServerConfiguration.webSocketTests(headerTimeoutMilliseconds: 400)
    static let configuration = WebSocketConfiguration(pingIntervalMilliseconds: 300, pongTimeoutMilliseconds: 400)
    /// Scheduling slack: on a two-core machine with every test (and more) running at once,
    /// a loop thread can wake up seconds late. Lower bounds need none.
    static let slackMilliseconds = 3_000
    /// For a client that answers: the pong may wait as long as a starved test thread does (a
    /// 400 ms timeout closed answering clients when every suite started at once).
    static let patientConfiguration = WebSocketConfiguration(pingIntervalMilliseconds: 300, pongTimeoutMilliseconds: 2_000)

    @Test func silentClientIsPingedThenClosedWhenItNeverAnswers() async throws {
        let server = EchoServer(configuration: Self.configuration)
        try await withServer(server.app, configuration: Self.server) { http in
            let connected = ContinuousClock.now
            let client = try WebSocketTestClient(port: http.port)
            let ping = try await client.readFrame()
            let pingedAfter = milliseconds(from: connected, to: client.lastFrameAt)
            #expect(ping.opcode == WebSocketOpcode.ping.rawValue)
            #expect(pingedAfter >= 250, "pinged only after the interval, got \(pingedAfter) ms")
            #expect(pingedAfter <= 300 + Self.sweepMilliseconds + Self.slackMilliseconds, "pinged after \(pingedAfter) ms")

            #expect(await client.waitForTCPClose(), "the server closes a client that never answers")
            let closedAfter = milliseconds(from: client.lastFrameAt, to: try #require(client.closedAt))
            #expect(closedAfter >= 300, "not closed before the pong timeout, got \(closedAfter) ms")
            #expect(closedAfter <= 400 + Self.sweepMilliseconds + Self.slackMilliseconds, "closed \(closedAfter) ms after the ping")
            #expect(await server.closes.wait()?.code == 1006)
        }
    }

    /// The exchanges run on the client's own thread, so a pong leaves as soon as the ping lands.
    @Test func clientAnsweringPingsStaysConnected() async throws {
        let server = EchoServer(configuration: Self.patientConfiguration)
        try await withServer(server.app, configuration: Self.server) { http in
            let client = try WebSocketTestClient(port: http.port)
            // Well past ping interval + pong timeout: only answering keeps the connection.
            let (opcodes, echo) = try await client.blocking { client in
                var opcodes: [UInt8] = []
                let start = ContinuousClock.now
                while milliseconds(from: start) < 1_800 {
                    let frame = try client.readFrameBlocking()
                    opcodes.append(frame.opcode)
                    client.send(WebSocketOpcode.pong.rawValue, frame.payload)
                }
                // Still on the client's thread, so a ping landing now is answered too.
                client.send(WebSocketOpcode.text.rawValue, Array("alive".utf8))
                while true {
                    let frame = try client.readFrameBlocking()
                    if frame.opcode == WebSocketOpcode.ping.rawValue {
                        client.send(WebSocketOpcode.pong.rawValue, frame.payload)
                        continue
                    }
                    return (opcodes, frame)
                }
            }
            #expect(opcodes.count >= 2)
            #expect(opcodes.allSatisfy { $0 == WebSocketOpcode.ping.rawValue }, "\(opcodes)")
            #expect(echo.text == "alive")
            #expect(await server.pongs.wait(for: 2) != nil, "the app saw the pongs")
            #expect(server.closes.all.isEmpty)
        }
    }

    /// Any traffic counts as life: a client that keeps talking is never pinged.
    @Test func activeClientIsNotPinged() async throws {
        let server = EchoServer(configuration: Self.configuration)
        try await withServer(server.app, configuration: Self.server) { http in
            let client = try WebSocketTestClient(port: http.port)
            let opcodes = try await client.blocking { client in
                var opcodes: [UInt8] = []
                for index in 0..<20 {
                    client.sendText("tick \(index)")
                    opcodes.append(try client.readFrameBlocking().opcode)
                    usleep(50_000)
                }
                return opcodes
            }
            #expect(opcodes == Array(repeating: WebSocketOpcode.text.rawValue, count: 20))
        }
    }
}

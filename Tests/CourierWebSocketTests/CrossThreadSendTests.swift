import CourierTesting
import Courier
import Foundation
import Testing

/// `send` and `close` from threads other than the socket's loop are carried to the loop.
@Suite struct CrossThreadSendTests {
    @Test func sendFromATaskOnTheGlobalExecutorReachesTheClient() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            let socket = try #require(await server.sockets.wait())
            let result = await Task.detached { socket.send("from a detached task") }.value
            #expect(result == .forwarded)
            #expect(try await client.readFrame().text == "from a detached task")
        }
    }

    @Test func sendsFromAThreadArriveInOrder() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            let socket = try #require(await server.sockets.wait())
            let results = Recorded<WebSocket.SendResult>()
            let thread = Thread {
                for index in 0..<100 { results.record(socket.send("message \(index)")) }
                results.record(socket.send(binary: [1, 2, 3]))
            }
            thread.start()
            for index in 0..<100 { #expect(try await client.readFrame().text == "message \(index)") }
            #expect(try await client.readFrame().payload == [1, 2, 3])
            #expect(await results.wait(for: 101) == .forwarded)
            #expect(results.all.allSatisfy { $0 == .forwarded })
        }
    }

    @Test func closeFromAnotherThreadSendsTheCloseFrame() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            let socket = try #require(await server.sockets.wait())
            #expect(await completes(within: 5) { socket.close(code: 4001, reason: "from afar") })
            let close = try await client.readFrame()
            #expect(close.close?.code == 4001)
            #expect(close.close?.reason == "from afar")
            client.sendClose(code: 4001)
            #expect(await client.waitForTCPClose())
        }
    }

    @Test func sendToAClosedSocketFromAnotherThreadIsHarmless() async throws {
        let server = EchoServer()
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port)
            let socket = try #require(await server.sockets.wait())
            client.sendClose(code: 1000)
            _ = try await client.readFrame()
            #expect(await client.waitForTCPClose())
            #expect(await server.closes.wait() != nil)
            #expect(await completes(within: 5) { _ = socket.send("into the void") })
            #expect(!socket.isOpen)
            // The server still serves others.
            let other = try WebSocketTestClient(port: http.port)
            other.sendText("ok")
            #expect(try await other.readFrame().text == "ok")
        }
    }
}

import CourierTesting
import Courier
import Testing

/// A client that stops reading must not make the server's memory grow: once its unsent bytes
/// pass maxBackpressureBytes, sends are dropped and it is closed with 1008, while other
/// clients are served as usual.
@Suite struct SlowConsumerTests {
    struct Outcome: Sendable, Equatable {
        var sentBeforeDrop: Int
        var dropped: Bool
        var openAfterDrop: Bool
    }

    @Test func sendsPastTheBackpressureLimitAreDroppedAndTheClientGets1008() async throws {
        let chunk = [UInt8](repeating: 0x5A, count: 64 * 1024)
        let outcomes = Recorded<Outcome>()
        let closes = Recorded<CloseEvent>()
        let app = Application()
        let configuration = WebSocketConfiguration(maxBackpressureBytes: 256 * 1024, closeTimeoutMilliseconds: 5_000,
                                                   compression: false)
        app.webSocket("/ws", configuration: configuration) { _, socket in
            socket.onText = { socket, text in
                guard text == "flood" else {
                    socket.send(text)
                    return
                }
                // Send across loop iterations, so bytes really pile up in the write queue
                // rather than in one iteration's buffer. At most 4096 × 64 KiB.
                Task(executorPreference: socket.loop) {
                    var sent = 0
                    while sent < 4_096 {
                        if socket.send(binary: chunk) == .dropped {
                            outcomes.record(Outcome(sentBeforeDrop: sent, dropped: true, openAfterDrop: socket.isOpen))
                            return
                        }
                        sent += 1
                        try? await Task.sleep(for: .milliseconds(1))
                    }
                    outcomes.record(Outcome(sentBeforeDrop: sent, dropped: false, openAfterDrop: socket.isOpen))
                }
            }
            socket.onClose = { _, code, reason in closes.record(CloseEvent(code: code, reason: reason)) }
        }
        try await withServer(app) { http in
            let slow = try WebSocketTestClient(port: http.port, timeoutMilliseconds: 10_000, receiveBufferBytes: 4_096)
            slow.sendText("flood")
            let outcome = try #require(await outcomes.wait(seconds: 30))
            #expect(outcome.dropped, "a send was dropped before \(outcome.sentBeforeDrop) × 64 KiB were queued")
            #expect(!outcome.openAfterDrop, "the socket is closing once a send is dropped")

            // Meanwhile another client is served as usual.
            let other = try WebSocketTestClient(port: http.port)
            other.sendText("still serving")
            #expect(try await other.readFrame().text == "still serving")

            // The slow client finally reads: the data that was queued, then close 1008.
            var dataFrames = 0
            var close: ServerFrame?
            while let frame = try? await slow.readFrame() {
                if frame.opcode == WebSocketOpcode.close.rawValue {
                    close = frame
                    break
                }
                #expect(frame.payload == chunk)
                dataFrames += 1
            }
            #expect(close?.close?.code == 1008)
            #expect(dataFrames == outcome.sentBeforeDrop, "every send that returned .sent arrived, in full")
            slow.sendClose(code: 1008)
            #expect(await slow.waitForTCPClose())
            #expect(await closes.wait()?.code == 1008)

            other.sendText("and after")
            #expect(try await other.readFrame().text == "and after")
        }
    }
}

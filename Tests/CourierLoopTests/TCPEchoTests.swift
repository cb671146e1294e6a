import CourierLoop
import Testing

/// What both ends of an echo exchange saw.
private struct EchoResult: Sendable {
    var received: [UInt8]
    var serverSawEndOfFile: Bool
    var serverPeer: String
    var clientWasOnLoop: Bool
}

/// Starts an echo listener and a client on `loop`, sends `payload`, and closes everything once
/// the echo is back and the server has seen the client leave.
private func echo(_ payload: [UInt8], on loop: EventLoop) async -> EchoResult? {
    await onLoop(loop) { (delivery: Delivery<EchoResult>) in
        var received: [UInt8] = []
        var serverPeer = ""
        var clientWasOnLoop = false
        let listener: TCPListener
        do {
            listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { server in
                serverPeer = server.remoteAddress
                server.onRead = { bytes in server.write(bytes) }
                server.onEnd = { error in
                    server.close()
                    delivery.deliver(EchoResult(received: received, serverSawEndOfFile: error == nil,
                                                serverPeer: serverPeer, clientWasOnLoop: clientWasOnLoop))
                }
                server.startReading()
            }
        } catch {
            Issue.record("listen failed: \(error)")
            return
        }
        TCPStream.connect(loop: loop, host: "127.0.0.1", port: listener.port) { result in
            clientWasOnLoop = loop.inEventLoop
            guard case .success(let client) = result else {
                Issue.record("connect failed: \(result)")
                listener.close()
                return
            }
            client.onRead = { bytes in
                received += bytes
                if received.count >= payload.count {
                    client.close()
                    listener.close()
                }
            }
            client.startReading()
            client.write(payload)
        }
    }
}

@Suite struct TCPEchoTests {
    @Test func aClientAndServerOnOneLoopExchangeBytes() async throws {
        try await withLoop { loop in
            let payload = Array("hello, loop".utf8)
            let result = try #require(await echo(payload, on: loop))
            #expect(result.received == payload)
            #expect(result.serverSawEndOfFile)
            #expect(result.serverPeer.hasPrefix("127.0.0.1:"))
            #expect(result.clientWasOnLoop)
        }
    }

    @Test func megabytesMoreThanTheSocketTakesAtOnceArriveIntact() async throws {
        try await withLoop { loop in
            let payload = (0..<(4 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
            let result = try #require(await echo(payload, on: loop))
            #expect(result.received.count == payload.count)
            #expect(result.received == payload)
            #expect(result.serverSawEndOfFile)
        }
    }

    @Test func aGracefulCloseDeliversTheLastBytesThenEndOfFile() async throws {
        try await withLoop { loop in
            let goodbye = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
            let result = try #require(await onLoop(loop) { (delivery: Delivery<([UInt8], Bool)>) in
                var received: [UInt8] = []
                do {
                    let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { server in
                        server.write(goodbye)
                        server.closeGracefully(lingerMilliseconds: 500)
                    }
                    TCPStream.connect(loop: loop, host: "127.0.0.1", port: listener.port) { result in
                        guard case .success(let client) = result else {
                            Issue.record("connect failed: \(result)")
                            listener.close()
                            return
                        }
                        client.onRead = { received += $0 }
                        client.onEnd = { error in
                            client.close()
                            listener.close()
                            delivery.deliver((received, error == nil))
                        }
                        client.startReading()
                    }
                } catch {
                    Issue.record("listen failed: \(error)")
                }
            })
            #expect(result.0 == goodbye)
            #expect(result.1, "the client saw end of file rather than an error")
        }
    }

    @Test func stoppingTheLoopClosesWhateverIsStillOpen() async throws {
        let loop = EventLoop(name: "left-open")
        loop.startThread()
        let connected = await onLoop(loop) { (delivery: Delivery<Bool>) in
            do {
                let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { server in
                    server.startReading()
                    delivery.deliver(true)
                }
                TCPStream.connect(loop: loop, host: "127.0.0.1", port: listener.port) { result in
                    if case .success(let client) = result { client.startReading() }
                }
                Timer(loop: loop).start(after: 60_000) {}
            } catch {
                Issue.record("listen failed: \(error)")
            }
        }
        #expect(connected == true)
        loop.stop()
        loop.waitUntilStopped()
    }

    @Test func connectingToAPortNobodyListensOnFails() async throws {
        try await withLoop { loop in
            let error = try #require(await onLoop(loop) { (delivery: Delivery<UVError?>) in
                do {
                    let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { _ in }
                    let port = listener.port
                    listener.close()
                    TCPStream.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                        switch result {
                        case .success(let stream):
                            stream.close()
                            delivery.deliver(nil)
                        case .failure(let error):
                            delivery.deliver(error)
                        }
                    }
                } catch {
                    Issue.record("listen failed: \(error)")
                }
            })
            #expect(error?.name == "ECONNREFUSED")
        }
    }

    @Test func connectingToAnInvalidAddressFails() async throws {
        try await withLoop { loop in
            let error = try #require(await onLoop(loop) { (delivery: Delivery<UVError?>) in
                TCPStream.connect(loop: loop, host: "not-an-address", port: 80) { result in
                    switch result {
                    case .success(let stream):
                        stream.close()
                        delivery.deliver(nil)
                    case .failure(let error):
                        delivery.deliver(error)
                    }
                }
            })
            #expect(error?.name == "EINVAL")
        }
    }
}

import Courier
import CourierTesting
import Glibc
import Testing

/// The opening handshake over a real socket: what a client sees for good and bad upgrade requests.
@Suite struct HandshakeTests {
    static let key = WebSocketTestClient.sampleKey

    /// An upgrade request with every header right unless a test removes or replaces one.
    static func upgradeRequest(method: String = "GET", version: String = "HTTP/1.1", removing: [String] = [],
                               replacing: [String: String] = [:]) -> String {
        var fields: [(String, String)] = [("Host", "127.0.0.1"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                          ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
        fields.removeAll { removing.contains($0.0) }
        for (name, value) in replacing {
            if let index = fields.firstIndex(where: { $0.0 == name }) { fields[index].1 = value } else { fields.append((name, value)) }
        }
        var text = "\(method) /ws \(version)\r\n"
        for (name, value) in fields { text += "\(name): \(value)\r\n" }
        return text + "\r\n"
    }

    /// Sends `request` to a fresh echo server and returns its answer; the socket must never open.
    static func answer(to request: String) async throws -> TestResponse {
        let server = EchoServer()
        var response: TestResponse?
        try await withServer(server.app) { http in
            let client = try RawClient(port: http.port, timeoutSeconds: 5)
            client.send(request)
            response = try client.readResponse()
        }
        let answer = try #require(response)
        if answer.status != 101 { #expect(server.sockets.all.isEmpty, "no WebSocket opened for a refused handshake") }
        return answer
    }

    @Test func acceptedHandshakeAnswers101WithTheRFCAcceptValue() async throws {
        let response = try await Self.answer(to: Self.upgradeRequest())
        #expect(response.status == 101)
        #expect(response.headers["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(response.headers["Upgrade"]?.lowercased() == "websocket")
        #expect(response.headers.containsToken("upgrade", in: "Connection"))
        #expect(response.headers["Sec-WebSocket-Protocol"] == nil)
    }

    @Test func missingUpgradeHeaderIs426WithTheVersionWeSpeak() async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(removing: ["Upgrade"]))
        #expect(response.status == 426)
        #expect(response.headers["Sec-WebSocket-Version"] == "13")
    }

    @Test(arguments: ["8", "14", "13, 8", ""])
    func wrongVersionIs426WithSecWebSocketVersion13(version: String) async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(replacing: ["Sec-WebSocket-Version": version]))
        #expect(response.status == 426)
        #expect(response.headers["Sec-WebSocket-Version"] == "13")
    }

    @Test func missingVersionIs426() async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(removing: ["Sec-WebSocket-Version"]))
        #expect(response.status == 426)
        #expect(response.headers["Sec-WebSocket-Version"] == "13")
    }

    @Test func missingKeyIs400() async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(removing: ["Sec-WebSocket-Key"]))
        #expect(response.status == 400)
    }

    /// Not base64, or base64 of something other than 16 bytes.
    @Test(arguments: ["not base64!", "dGhlIHNhbXBsZSBub25jZQ", "c2hvcnQ=", "dGhlIHNhbXBsZSBub25jZSEh", "dGhlIHNhbXBsZSBub25jZQ==="])
    func invalidKeyIs400(key: String) async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(replacing: ["Sec-WebSocket-Key": key]))
        #expect(response.status == 400)
    }

    @Test(arguments: ["keep-alive", "close"])
    func connectionHeaderWithoutUpgradeIs400(connection: String) async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(replacing: ["Connection": connection]))
        #expect(response.status == 400)
    }

    @Test func missingConnectionHeaderIs400() async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(removing: ["Connection"]))
        #expect(response.status == 400)
    }

    @Test func connectionHeaderListingUpgradeAmongOthersIsAccepted() async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(replacing: ["Connection": "keep-alive, Upgrade"]))
        #expect(response.status == 101)
    }

    @Test func postIs405AllowingGet() async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(method: "POST", replacing: ["Content-Length": "0"]))
        #expect(response.status == 405)
        #expect(response.headers["Allow"]?.contains("GET") == true)
    }

    @Test func http10Is400() async throws {
        let response = try await Self.answer(to: Self.upgradeRequest(version: "HTTP/1.0"))
        #expect(response.status == 400)
    }

    @Test func shouldUpgradeRefusingAnOriginGives403AndOpensNoSocket() async throws {
        let server = EchoServer(shouldUpgrade: { request, _ in
            guard request.headers["Origin"] == "https://good.example" else { throw HTTPError(.forbidden) }
            return WebSocketAcceptance()
        })
        try await withServer(server.app) { http in
            let refused = try RawClient(port: http.port, timeoutSeconds: 5)
            refused.send(Self.upgradeRequest(replacing: ["Origin": "https://evil.example"]))
            #expect(try refused.readResponse().status == 403)
            let noOrigin = try RawClient(port: http.port, timeoutSeconds: 5)
            noOrigin.send(Self.upgradeRequest())
            #expect(try noOrigin.readResponse().status == 403)
            #expect(server.sockets.all.isEmpty)

            let allowed = try WebSocketTestClient(port: http.port, headers: ["Origin: https://good.example"])
            allowed.sendText("hi")
            #expect(try await allowed.readFrame().text == "hi")
            #expect(server.sockets.all.count == 1)
        }
    }

    @Test func chosenSubprotocolIsEchoedAndVisibleOnTheSocket() async throws {
        let offered = Recorded<[String]>()
        let server = EchoServer(shouldUpgrade: { _, protocols in
            offered.record(protocols)
            return WebSocketAcceptance(subprotocol: protocols.contains("v2.chat") ? "v2.chat" : nil)
        })
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(port: http.port, headers: ["Sec-WebSocket-Protocol: v1.chat, v2.chat",
                                                                            "Sec-WebSocket-Protocol: v3.chat"])
            #expect(client.headers["Sec-WebSocket-Protocol"] == "v2.chat")
            #expect(await offered.wait() == ["v1.chat", "v2.chat", "v3.chat"])
            #expect(await server.sockets.wait()?.subprotocol == "v2.chat")

            let plain = try WebSocketTestClient(port: http.port, headers: ["Sec-WebSocket-Protocol: v1.chat"])
            #expect(plain.headers["Sec-WebSocket-Protocol"] == nil, "no subprotocol chosen, none echoed")
            #expect(await server.sockets.wait(for: 2)?.subprotocol == nil)
        }
    }

    @Test func choosingASubprotocolTheClientDidNotOfferFailsTheHandshake() async throws {
        let server = EchoServer(shouldUpgrade: { _, _ in WebSocketAcceptance(subprotocol: "made-up") })
        try await withServer(server.app) { http in
            let client = try RawClient(port: http.port, timeoutSeconds: 5)
            client.send(Self.upgradeRequest(replacing: ["Sec-WebSocket-Protocol": "chat"]))
            #expect(try client.readResponse().status == 500)
            #expect(server.sockets.all.isEmpty)
        }
    }

    /// A client may send its first frame right behind the request, in the same TCP segment.
    @Test(arguments: [false, true])
    func framesSentWithTheRequestAreNotLost(withMiddleware: Bool) async throws {
        let server = EchoServer(middleware: withMiddleware ? [RequestLog()] : [])
        try await withServer(server.app) { http in
            let client = try WebSocketTestClient(connectingTo: http.port)
            client.send(Array(WebSocketTestClient.handshakeRequest().utf8) + ClientFrame.text("first") + ClientFrame.text("second"))
            try await client.readHandshakeResponse()
            #expect(try await client.readFrame().text == "first")
            #expect(try await client.readFrame().text == "second")
        }
    }

    /// A request that arrives in several TCP segments is buffered before it is parsed.
    @Test(arguments: [false, true])
    func handshakeSplitAcrossSegmentsStillOpens(withMiddleware: Bool) async throws {
        let server = EchoServer(middleware: withMiddleware ? [RequestLog()] : [])
        // The pause between segments runs on the shared test thread pool, which a loaded
        // machine can starve for seconds: a generous header timeout keeps this about splitting.
        try await withServer(server.app, configuration: .webSocketTests(headerTimeoutMilliseconds: 20_000)) { http in
            let client = try WebSocketTestClient(connectingTo: http.port)
            let request = Array(WebSocketTestClient.handshakeRequest().utf8)
            client.send(Array(request[..<20]))
            usleep(50_000)
            client.send(Array(request[20...]) + ClientFrame.text("after split"))
            try await client.readHandshakeResponse()
            #expect(try await client.readFrame().text == "after split")
            client.sendText("next")
            #expect(try await client.readFrame().text == "next")
        }
    }

    @Test func permessageDeflateIsAgreedOnlyWhenOfferedAndEnabled() async throws {
        let compressing = EchoServer()
        try await withServer(compressing.app) { http in
            let offered = try WebSocketTestClient(port: http.port, headers: ["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"])
            #expect(offered.headers["Sec-WebSocket-Extensions"]
                    == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
            #expect(await compressing.sockets.wait()?.isCompressed == true)
            let notOffered = try WebSocketTestClient(port: http.port)
            #expect(notOffered.headers["Sec-WebSocket-Extensions"] == nil)
            #expect(await compressing.sockets.wait(for: 2)?.isCompressed == false)
        }
        let plain = EchoServer(configuration: WebSocketConfiguration(compression: false))
        try await withServer(plain.app) { http in
            let offered = try WebSocketTestClient(port: http.port, headers: ["Sec-WebSocket-Extensions: permessage-deflate"])
            #expect(offered.headers["Sec-WebSocket-Extensions"] == nil)
        }
    }
}
